/* The backward-graph page's script (rg.explore.explain_html; written by
   explore/explain.py after prelude.js, whose function it closes). It lays the
   recorded ops out in columns by depth from the loss (an op's inputs one
   column further) on a canvas drawn by hand: colour the gradient norm (log
   scale), height the saved bytes. Hover an op for its row of rg.explain; click
   it (or its table row, or a link) to select it: its edges, its details and
   the ops it sends gradient to and receives it from. window.retrograd exposes
   the data, select() and nodeCenter(i) (the browser tests click through them).
   This header is dropped when the page is written (explore/_assets.py). */

const S = D.steps, n = S.length, tip = $("tooltip");
// depth: the loss's op is 0; an op's inputs lie one column further (the longest path)
const depth = new Array(n).fill(0), consumers = S.map(() => []);
S.forEach((s, i) => s.inputs.forEach((j) => { consumers[j].push(i); if (j > i) depth[j] = Math.max(depth[j], depth[i] + 1); }));
const cols = [];
depth.forEach((d, i) => { (cols[d] = cols[d] || []).push(i); });
const maxRows = Math.max(1, ...cols.map((c) => c.length));
const colW = Math.max(14, Math.min(120, 3000 / cols.length)), rowH = Math.max(6, Math.min(34, 520 / maxRows));
const label = colW >= 60 && rowH >= 16;
const pos = new Array(n);
cols.forEach((c, d) => c.forEach((i, r) => { pos[i] = { x: 10 + d * colW, y: 10 + r * rowH, w: colW * 0.8, h: rowH * 0.8 }; }));
let gmax = 0, gmin = Infinity, bmax = 1;
for (const s of S) { if (s.grad_norm > 0) { gmax = Math.max(gmax, s.grad_norm); gmin = Math.min(gmin, s.grad_norm); } bmax = Math.max(bmax, s.saved_bytes); }
const STOPS = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 253, 191]];
function cmap(f) {
  f = Math.min(1, Math.max(0, f));
  const x = f * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(x)), u = x - i, a = STOPS[i], b = STOPS[i + 1];
  return "rgb(" + [0, 1, 2].map((j) => Math.round(a[j] + (b[j] - a[j]) * u)).join(",") + ")";
}
function level(v) {  // where v sits on the colour scale (null: no gradient)
  if (!(v > 0) || !(gmax > 0)) return null;
  if (gmax === gmin) return 0.8;
  return 0.15 + 0.85 * (Math.log10(v) - Math.log10(gmin)) / (Math.log10(gmax) - Math.log10(gmin));
}
function colour(v) { const f = level(v); return f === null ? "#d8d8dc" : cmap(f); }
// a label in whichever of white and black contrasts more with its box (WCAG's relative luminance)
function ink(v) {
  const c = colour(v).match(/\d+/g);
  if (!c || c.length < 3) return "#111";
  const lin = c.slice(0, 3).map((x) => { x = x / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return (1.05 / (L + 0.05)) > ((L + 0.05) / 0.05) ? "#fff" : "#111";
}
let selected = -1;
function draw() {
  const c = $("graph"), dpr = window.devicePixelRatio || 1;
  const w = Math.max(c.parentElement.clientWidth || 600, 20 + cols.length * colW), h = 20 + maxRows * rowH;
  c.style.width = w + "px"; c.style.height = h + "px"; c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  ctx.lineWidth = 1;
  S.forEach((s, i) => s.inputs.forEach((j) => {
    const a = pos[i], b = pos[j], hot = i === selected || j === selected;
    ctx.strokeStyle = hot ? "#c0392b" : "rgba(90,90,110,.25)"; ctx.lineWidth = hot ? 2 : 1;
    ctx.beginPath(); ctx.moveTo(a.x + a.w, a.y + a.h / 2); ctx.lineTo(b.x, b.y + b.h / 2); ctx.stroke();
  }));
  ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
  S.forEach((s, i) => {
    const p = pos[i], bh = Math.max(2, p.h * (0.35 + 0.65 * Math.sqrt(s.saved_bytes / bmax)));
    ctx.fillStyle = colour(s.grad_norm); ctx.fillRect(p.x, p.y + (p.h - bh) / 2, p.w, bh);
    if (i === selected) { ctx.strokeStyle = "#0a66c2"; ctx.lineWidth = 2; ctx.strokeRect(p.x - 1, p.y - 1, p.w + 2, p.h + 2); }
    if (label) {  // on the box when it is tall enough to hold the text, else above it (on white)
      const inside = bh >= 13;
      ctx.fillStyle = inside ? ink(s.grad_norm) : "#111";
      ctx.fillText(s.op.slice(0, 14), p.x + 2, inside ? p.y + p.h / 2 : p.y - 5 + p.h / 2 + (p.h > 24 ? 0 : 5));
    }
  });
}
function at(x, y) {
  for (let i = 0; i < n; i++) { const p = pos[i]; if (x >= p.x && x <= p.x + p.w && y >= p.y && y <= p.y + p.h) return i; }
  return -1;
}
function describe(i) {
  const s = S[i], parts = D.header.map((h, k) => h + ": " + s.cells[k]);
  return parts.join("\n");
}
function select(i) {
  selected = i; draw();
  const d = $("details");
  d.innerHTML = "";
  if (i < 0) return;
  const s = S[i], pre = document.createElement("pre");
  pre.textContent = describe(i) + "\nnorm of the gradient arriving: " + s.grad_norm + "\nsaved bytes: " + s.saved_bytes +
    (s.leaves.length ? "\nleaf inputs: " + s.leaves.join(", ") : "");
  d.appendChild(pre);
  const links = (title, list) => {
    const p = document.createElement("p"); p.textContent = title + " ";
    list.forEach((j) => { const a = document.createElement("a"); a.textContent = "#" + S[j].cells[0] + " " + S[j].op; a.href = "#";
      a.addEventListener("click", (e) => { e.preventDefault(); select(j); }); p.appendChild(a); p.appendChild(document.createTextNode("  ")); });
    if (!list.length) p.appendChild(document.createTextNode("none"));
    d.appendChild(p);
  };
  links("sends gradient to:", s.inputs);
  links("receives gradient from:", consumers[i]);
  document.querySelectorAll("#steps tr.sel").forEach((r) => r.classList.remove("sel"));
  const row = document.querySelector('#steps tr[data-step="' + i + '"]');
  if (row) row.classList.add("sel");
}
const canvas = $("graph");
function local(ev) { const b = canvas.getBoundingClientRect(); return [ev.clientX - b.left, ev.clientY - b.top]; }
canvas.addEventListener("click", (ev) => select(at(...local(ev))));
canvas.addEventListener("mousemove", (ev) => {
  const i = at(...local(ev));
  if (i < 0) { tip.style.display = "none"; return; }
  tip.textContent = describe(i); tip.dataset.step = String(i); tip.style.display = "block";
  // kept inside the window: a tooltip near the right edge opens to the left of the cursor
  tip.style.left = Math.max(4, Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4)) + "px";
  tip.style.top = Math.max(4, Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 4)) + "px";
});
canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
document.querySelectorAll("#steps tr[data-step]").forEach((r) => r.addEventListener("click", () => select(+r.dataset.step)));
draw();
window.retrograd = { data: D, select, boxColour: (i) => colour(S[i].grad_norm), labelColour: (i) => ink(S[i].grad_norm),
  nodeCenter(i) { const b = canvas.getBoundingClientRect(), p = pos[i];
  return { x: b.left + p.x + p.w / 2, y: b.top + p.y + p.h / 2 }; } };
})();
