/* The trace explorer's script (rg.explore.explore, trace.to_html; written by
   explore/page.py after prelude.js, whose function it closes). No library:
   the canvases are drawn by hand. It reads the JSON in
   <script id="retrograd-trace"> and draws five panels for the selected mode and
   batch row: the gradient flow (a line of ||dL/dh_t|| and the time x quantity
   heatmap, log colour scale), the mode's reach (from its jobs), the
   connectivity ||dl_t/dx_t'|| (full and under the mode) with the bias table,
   the checkpointing schedule, and the per-step alignment of every mode's
   estimate of dL_t/dtheta with the exact one (D.alignment, online modes
   included; absent from older pages). window.retrograd exposes the data, the
   state and the cell geometry (the browser tests hover through it).
   This header is dropped when the page is written (explore/_assets.py). */

const state = { mode: 0, row: -1, norm: "all", view: "values" };
const hit = {}, geom = {};
const tip = $("tooltip");
const FONT = "12px system-ui, sans-serif";
const STOPS = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21],
               [250, 193, 39], [252, 253, 191]];
const DECADES = 8, NONE = "#e6e6ea", CUT = "#dde3ea";
const UPD = ["#2f6db5", "#5aa4e6"];

function cmap(f) {
  f = Math.min(1, Math.max(0, f));
  const x = f * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(x)), u = x - i;
  const a = STOPS[i], b = STOPS[i + 1];
  return "rgb(" + [0, 1, 2].map((j) => Math.round(a[j] + (b[j] - a[j]) * u)).join(",") + ")";
}
function colour(v, peak) {
  if (!Number.isFinite(v)) return "#ff2fd0";
  if (!(v > 0) || !(peak > 0)) return NONE;
  return cmap(1 + Math.log10(v / peak) / DECADES);
}
// values shown to 6 significant digits (the tooltip's data-value keeps the exact float64)
function fmt(v) {
  if (v === null || v === undefined) return "n/a";
  if (typeof v !== "number" || !Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(5);
}
function M() { return D.modes[state.mode]; }
function setup(id, h) {
  const c = $(id), dpr = window.devicePixelRatio || 1, w = Math.max(200, c.clientWidth || 600);
  c.style.height = h + "px";
  c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  ctx.font = FONT; ctx.textBaseline = "middle";
  return { ctx, w, h };
}
function niceStep(n, target) {
  const raw = Math.max(1, n / target), p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function xAxis(ctx, x0, y, cw, T, label) {
  const step = niceStep(T, 12);
  ctx.fillStyle = "#555"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (let t = 0; t < T; t += step) {
    ctx.fillRect(x0 + (t + 0.5) * cw, y, 1, 4);
    ctx.fillText(String(t), x0 + (t + 0.5) * cw, y + 5);
  }
  if (label) { ctx.textAlign = "right"; ctx.fillText(label, x0 + T * cw, y + 5 + 13); }
  ctx.textBaseline = "middle";
}
function rowValues(q) {
  if (state.row < 0) return q.values;
  return q.rows ? q.rows[state.row] : null;
}
// the reference of the difference view: plain full BPTT (not a checkpointed one), if traced
const REF = D.modes.findIndex((m) => m.kind === "Full" && !m.schedule);
function refValues(q) {
  if (REF < 0) return null;
  const r = D.modes[REF].quantities.find((x) => x.key === q.key);
  return r ? rowValues(r) : null;
}
function differing() { return state.view === "diff" && REF >= 0 && state.mode !== REF; }
// what the heatmap shows of quantity q: its values, or |values − full()'s| in the difference view
function shownValues(q) {
  const vals = rowValues(q);
  if (!differing() || !vals) return vals;
  const ref = refValues(q);
  return ref ? vals.map((v, t) => Math.abs(v - ref[t])) : null;
}
function peakOf(key) {
  const modes = state.norm === "all" ? D.modes : [M()];
  let peak = 0;
  for (const m of modes) for (const q of m.quantities) if (q.key === key) {
    const v = rowValues(q);
    if (v) for (const x of v) if (Number.isFinite(x)) peak = Math.max(peak, Math.abs(x));
  }
  return peak;
}
function reachOf(m) {
  // for each loss step: [first, update, job index] (null: the loss gets no gradient)
  const r = new Array(D.T).fill(null);
  m.jobs.forEach((j, i) => { for (let t = j[2]; t < j[3]; t++) r[t] = [j[1], j[0], i]; });
  return r;
}
function padded(t, row) {
  const m = M();
  if (!m.mask) return false;
  if (row >= 0) return !m.mask[t][row];
  return m.mask[t].some((v) => !v);
}
function isReset(row) {
  const m = M();
  if (!m.reset) return false;
  return row >= 0 ? !!m.reset[row] : m.reset.some((v) => v);
}

// ------------------------------------------------------------------ gradient flow: line + heatmap
function drawLine() {
  const T = D.T, left = 170, right = 12, top = 10, bottom = 22, h = 130;
  const { ctx, w } = setup("flow-line", h);
  const cw = (w - left - right) / T, ph = h - top - bottom;
  const series = D.modes.map((m) => rowValues(m.quantities[0]));
  let lo = Infinity, hi = 0;
  for (const s of series) if (s) for (const v of s) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  ctx.fillStyle = "#333"; ctx.textAlign = "right";
  ctx.fillText("‖∂L/∂hₜ‖ (log)", left - 8, top + ph / 2);
  ctx.strokeStyle = "#ccc"; ctx.strokeRect(left, top, T * cw, ph);
  if (!(hi > 0)) { ctx.fillText("no gradient reaches the state", left + 200, top + ph / 2); return; }
  if (lo === hi) lo = hi / 10;
  const ly = (v) => top + ph * (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
  ctx.textAlign = "left"; ctx.fillStyle = "#777";
  ctx.fillText(hi.toExponential(1), left + 3, top + 7); ctx.fillText(lo.toExponential(1), left + 3, top + ph - 7);
  series.forEach((s, i) => {
    if (!s) return;
    const mine = i === state.mode;
    ctx.strokeStyle = mine ? "#c0392b" : "rgba(120,120,130,.35)"; ctx.lineWidth = mine ? 2 : 1;
    ctx.beginPath(); let pen = false;
    s.forEach((v, t) => {
      if (!(v > 0)) { pen = false; return; }
      const x = left + (t + 0.5) * cw, y = ly(v);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  });
  xAxis(ctx, left, top + ph, cw, T, "");
  geom["flow-line"] = { x0: left, y0: top, cw, ch: ph, rows: 1, cols: T };
  hit["flow-line"] = (x, y) => {
    const t = Math.floor((x - left) / cw);
    if (t < 0 || t >= T) return null;
    const s = series[state.mode];
    return { text: "‖∂L/∂hₜ‖, " + M().mode + "\nstep t = " + t + "\nvalue " + fmt(s ? s[t] : null),
             value: s ? s[t] : null, step: t, quantity: M().quantities[0].label };
  };
}

function drawHeatmap() {
  const m = M(), qs = m.quantities, T = D.T, left = 170, right = 12, top = 16, rowH = 17, bottom = 34;
  const h = top + rowH * qs.length + bottom;
  const { ctx, w } = setup("heatmap", h);
  const cw = (w - left - right) / T;
  qs.forEach((q, r) => {
    const vals = shownValues(q), peak = peakOf(q.key), y = top + r * rowH;
    ctx.fillStyle = "#222"; ctx.textAlign = "right";
    ctx.fillText(q.label, left - 8, y + rowH / 2);
    for (let t = 0; t < T; t++) {
      ctx.fillStyle = vals ? colour(Math.abs(vals[t]), peak) : "#f1f1f1";
      ctx.fillRect(left + t * cw, y, cw + 0.6, rowH - 1);
    }
    if (!vals) { ctx.fillStyle = "#888"; ctx.textAlign = "left"; ctx.fillText("batch total only", left + 6, y + rowH / 2); }
  });
  // padded steps: hatched; a reset row: a cyan mark before step 0
  ctx.strokeStyle = "rgba(255,255,255,.75)"; ctx.lineWidth = 1;
  for (let t = 0; t < T; t++) if (padded(t, state.row)) {
    const x = left + t * cw;
    if (state.row >= 0) {
      for (let y = top; y < top + rowH * qs.length; y += 6) { ctx.beginPath(); ctx.moveTo(x, y + 6); ctx.lineTo(x + cw, y); ctx.stroke(); }
    }
    ctx.fillStyle = "#999"; ctx.fillRect(x, top - 6, cw, 4);
  }
  if (isReset(state.row)) {
    ctx.fillStyle = "#00a6c8"; ctx.fillRect(left - 3, top - 2, 3, rowH * qs.length + 4);
    ctx.textAlign = "left"; ctx.fillText("↺ reset", left, top - 9);
  }
  xAxis(ctx, left, top + rowH * qs.length + 2, cw, T, "time step t (from 0)");
  const by = top + rowH * qs.length + 20;  // the colour bar: value / the quantity's max, log scale
  for (let i = 0; i < 100; i++) { ctx.fillStyle = cmap(i / 99); ctx.fillRect(8 + i, by, 1.2, 8); }
  ctx.fillStyle = "#555"; ctx.textAlign = "left"; ctx.font = "10px system-ui, sans-serif";
  ctx.fillText("1e-" + DECADES, 8, by - 5); ctx.textAlign = "right"; ctx.fillText("1 × max", 108, by - 5);
  ctx.font = FONT;
  geom.heatmap = { x0: left, y0: top, cw, ch: rowH, rows: qs.length, cols: T };
  hit.heatmap = (x, y) => {
    const t = Math.floor((x - left) / cw), r = Math.floor((y - top) / rowH);
    if (t < 0 || t >= T || r < 0 || r >= qs.length) return null;
    const q = qs[r], vals = shownValues(q), v = vals ? vals[t] : null;
    const where = state.row >= 0 ? "batch row " + state.row : "all rows";
    let text = q.label + " (" + where + ")\nstep t = " + t;
    if (differing()) {
      const own = rowValues(q), ref = refValues(q);
      text += "\n|difference from full()| " + fmt(v) + "\nthis mode " + fmt(own ? own[t] : null) +
        ", full() " + fmt(ref ? ref[t] : null);
    } else text += "\nvalue " + fmt(v);
    if (q.key.startsWith("share:")) text += "\n(share of the parameter's gradient, signed)";
    if (padded(t, state.row)) text += "\npadded step";
    return { text, value: v, step: t, quantity: q.label };
  };
}

// ------------------------------------------------------------------ reach
function describe(m) {
  const p = m.params, T = D.T;
  switch (m.kind) {
    case "Full": return m.schedule ? "full BPTT: every ℓₜ reaches every step s ≤ t, one update; checkpointed (schedule below)"
                                   : "full BPTT: every ℓₜ reaches every step s ≤ t; one update at the end";
    case "Chunk": return "chunk(" + p.k + "): ℓₜ reaches the steps of its own chunk of " + p.k + "; " + m.updates + " updates (ticks)";
    case "WilliamsPeng": return "williams_peng(" + p.k1 + ", " + p.k2 + "): every k1 = " + p.k1 +
      " steps (ticks) the losses of the last " + p.k1 + " steps reach back through the last k2 = " + p.k2 + " steps (bands); " + m.updates + " updates";
    case "Window": return "window(" + p.k + "): ℓₜ reaches steps t−" + (p.k - 1) + " … t only; one update at the end";
    case "Tail": return "tail(" + p.k + ") (Theano's truncate_gradient): only the last " + Math.min(p.k, T) +
      " losses, through the last " + Math.min(p.k, T) + " steps; the first " + m.no_grad_prefix + " steps run without a tape";
    default: return m.mode + ": " + m.jobs.length + " jobs, " + m.updates + " updates";
  }
}
function drawReach() {
  const m = M(), T = D.T, left = 56, right = 12, top = 22, bottom = 34;
  const h = Math.max(170, Math.min(420, top + bottom + 4 * T));
  const { ctx, w } = setup("reach", h);
  const cw = (w - left - right) / T, ch = (h - top - bottom) / T;
  ctx.fillStyle = "#fbfbfd"; ctx.fillRect(left, top, T * cw, T * ch);
  if (m.no_grad_prefix) {
    ctx.fillStyle = "#e2e2e6"; ctx.fillRect(left, top, m.no_grad_prefix * cw, T * ch);
    ctx.fillStyle = "#666"; ctx.textAlign = "left"; ctx.fillText("no tape", left + 4, top + 8);
  }
  const reach = reachOf(m);
  for (let t = 0; t < T; t++) {
    const r = reach[t];
    if (!r) continue;
    ctx.fillStyle = UPD[r[1] % 2];
    ctx.fillRect(left + r[0] * cw, top + (T - 1 - t) * ch, (t + 1 - r[0]) * cw, Math.max(ch - (ch > 3 ? 0.5 : 0), 0.8));
  }
  // update ticks: after the last loss of each update
  const lastOf = {};
  for (const j of m.jobs) lastOf[j[0]] = Math.max(lastOf[j[0]] ?? -1, j[3] - 1);
  ctx.fillStyle = "#c0392b";
  for (const u in lastOf) {
    const x = left + (lastOf[u] + 1) * cw;
    ctx.beginPath(); ctx.moveTo(x, top - 2); ctx.lineTo(x - 4, top - 9); ctx.lineTo(x + 4, top - 9); ctx.fill();
  }
  ctx.fillStyle = "#444"; ctx.textAlign = "right";
  ctx.save(); ctx.translate(14, top + T * ch / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
  ctx.fillText("loss ℓₜ (latest on top)", 0, 0); ctx.restore();
  xAxis(ctx, left, top + T * ch + 2, cw, T, "step s the gradient reaches");
  $("reach-note").textContent = describe(m);
  geom.reach = { x0: left, y0: top, cw, ch, rows: T, cols: T };
  hit.reach = (x, y) => {
    const s = Math.floor((x - left) / cw), t = T - 1 - Math.floor((y - top) / ch);
    if (s < 0 || s >= T || t < 0 || t >= T) return null;
    const r = reach[t];
    let text = "ℓ at step t = " + t;
    if (!r) text += "\ngets no gradient under " + m.mode;
    else text += "\nreaches steps " + r[0] + " … " + t + " (job " + r[2] + ", update " + r[1] + ")\nstep s = " + s +
      (s >= r[0] && s <= t ? ": reached" : ": not reached");
    return { text, value: r && s >= r[0] && s <= t ? 1 : 0, step: s, quantity: "reach of ℓ" + t };
  };
}

// ------------------------------------------------------------------ connectivity
function drawConn(id, masked) {
  const C = D.connectivity, m = M();
  const c = $(id), w0 = Math.max(200, c.clientWidth || 300);
  const h = Math.min(360, Math.max(180, w0 * 0.8));
  const { ctx, w } = setup(id, h);
  if (!C) {
    ctx.fillStyle = "#666"; ctx.textAlign = "left";
    ctx.fillText("not computed: trace(…, connectivity=True) or rg.explore.explore", 8, h / 2);
    hit[id] = () => null;
    return;
  }
  const vals = state.row >= 0 && C.rows ? C.rows[state.row] : C.values;
  const L = C.loss_steps.length, S = C.input_steps.length, left = 44, top = 8, bottom = 34, right = 8;
  const cw = (w - left - right) / S, ch = (h - top - bottom) / L;
  let peak = 0;
  for (const line of vals) for (const v of line) if (Number.isFinite(v)) peak = Math.max(peak, v);
  const reach = reachOf(m);
  const reached = (i, j) => { const t = C.loss_steps[i], s = C.input_steps[j], r = reach[t]; return !!r && s >= r[0] && s <= t; };
  for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) {
    const v = vals[i][j];
    ctx.fillStyle = masked && !reached(i, j) ? (v > 0 ? CUT : "#fff") : v === 0 ? "#fff" : colour(v, peak);
    ctx.fillRect(left + j * cw, top + (L - 1 - i) * ch, cw + 0.6, ch + 0.6);
  }
  ctx.strokeStyle = "#ccc"; ctx.strokeRect(left, top, S * cw, L * ch);
  ctx.fillStyle = "#444"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  ctx.fillText("input step t′", left + S * cw / 2, top + L * ch + 18);
  ctx.fillText(String(C.input_steps[0]), left + cw / 2, top + L * ch + 3);
  ctx.fillText(String(C.input_steps[S - 1]), left + (S - 0.5) * cw, top + L * ch + 3);
  ctx.textBaseline = "middle"; ctx.textAlign = "right";
  ctx.fillText("ℓ" + C.loss_steps[L - 1], left - 4, top + ch / 2);
  ctx.fillText("ℓ" + C.loss_steps[0], left - 4, top + (L - 0.5) * ch);
  geom[id] = { x0: left, y0: top, cw, ch, rows: L, cols: S, flip: true };
  hit[id] = (x, y) => {
    const j = Math.floor((x - left) / cw), i = L - 1 - Math.floor((y - top) / ch);
    if (i < 0 || i >= L || j < 0 || j >= S) return null;
    const on = !masked || reached(i, j), v = on ? vals[i][j] : 0;
    let text = "‖∂ℓ" + C.loss_steps[i] + "/∂x" + C.input_steps[j] + "‖" + (masked ? " under " + m.mode : " (full BPTT)") +
      "\nvalue " + fmt(v);
    if (!on && vals[i][j] > 0) text += "\ncut by the truncation (full: " + fmt(vals[i][j]) + ")";
    return { text, value: v, step: C.input_steps[j], quantity: "connectivity ℓ" + C.loss_steps[i] };
  };
}
function drawBias() {
  const m = M(), el = $("bias");
  el.innerHTML = "";
  if (!m.bias) {
    el.innerHTML = "<tr><td>" + (m.kind === "Full" && !m.schedule ? "full BPTT is the reference: no bias" :
      "bias not computed: trace(…, bias=True) or rg.explore.explore") + "</td></tr>";
    return;
  }
  const head = document.createElement("tr");
  head.innerHTML = "<th>parameter</th><th>rel. error ‖g−g_full‖/‖g_full‖</th><th></th><th>cosine</th><th>‖g mode‖</th><th>‖g full‖</th>";
  el.appendChild(head);
  for (const r of m.bias) {
    const tr = document.createElement("tr"), width = Math.min(150, 150 * r.rel_error);
    const cells = [r.parameter, r.rel_error.toExponential(3), "", r.cosine.toFixed(5), r.norm_mode.toExponential(3), r.norm_full.toExponential(3)];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      if (i === 2) { td.className = "bar"; const s = document.createElement("span"); s.style.width = width + "px"; td.appendChild(s); }
      else td.textContent = v;
      tr.appendChild(td);
    });
    tr.title = "rel. error " + r.rel_error + ", cosine " + r.cosine;
    el.appendChild(tr);
  }
}

// ------------------------------------------------------------------ checkpointing schedule
function drawSchedule() {
  const m = M(), S = m.schedule, T = D.T, left = 74, right = 12;
  if (!S) {
    const { ctx, w } = setup("schedule", 86);
    const cw = (w - left - right) / T;
    ctx.fillStyle = "#2f6db5"; ctx.fillRect(left, 20, T * cw, 8);
    ctx.fillStyle = "#c0392b"; ctx.fillRect(left, 42, T * cw, 8);
    ctx.fillStyle = "#333"; ctx.textAlign = "right";
    ctx.fillText("forward", left - 6, 24); ctx.fillText("backward", left - 6, 46);
    xAxis(ctx, left, 56, cw, T, "");
    $("schedule-note").textContent = "No checkpointing: " + m.mode + " keeps the tape of every step a later job needs; nothing is recomputed.";
    geom.schedule = { x0: left, y0: 20, cw, ch: 22, rows: 2, cols: T };
    hit.schedule = (x, y) => {
      const t = Math.floor((x - left) / cw);
      return t >= 0 && t < T ? { text: "step " + t + ": run once, tape kept", value: 1, step: t, quantity: "runs" } : null;
    };
    return;
  }
  const bounds = (u) => S.units[u];
  const lanes = S.actions.filter((a) => a[0] === "advance" || a[0] === "reverse").length;
  const runsH = 34, top = 14 + runsH + 10, bottom = 30;
  const rowH = Math.min(9, 360 / Math.max(lanes, 1));  // long schedules: sub-pixel rows, the lane stays ≤ 360 px
  const h = top + lanes * rowH + bottom;
  const { ctx, w } = setup("schedule", h);
  const cw = (w - left - right) / T;
  const maxRuns = Math.max(1, ...S.runs);
  ctx.textAlign = "right"; ctx.fillStyle = "#333";
  ctx.fillText("advances", left - 6, 14 + runsH / 2);
  S.runs.forEach((r, t) => {
    const bh = runsH * r / maxRuns;
    ctx.fillStyle = "#7f8fa6"; ctx.fillRect(left + t * cw, 14 + runsH - bh, Math.max(cw - 0.5, 0.6), bh);
  });
  for (const s of S.first_sweep) { ctx.fillStyle = "#1e9e53"; ctx.fillRect(left + s * cw - 1, 8, 3, 6); }
  let y = top;
  const rows = [];
  for (const a of S.actions) {
    if (a[0] === "advance") {
      const s0 = bounds(a[1])[0], s1 = bounds(a[2] - 1)[1];
      ctx.fillStyle = "#2f6db5"; ctx.fillRect(left + s0 * cw, y + rowH * 0.2, (s1 - s0) * cw, Math.max(rowH * 0.6, 0.8));
      rows.push(["advance steps " + s0 + " … " + (s1 - 1) + " without a tape", s0, s1]); y += rowH;
    } else if (a[0] === "reverse") {
      const [s0, s1] = bounds(a[1]);
      ctx.fillStyle = "#c0392b"; ctx.fillRect(left + s0 * cw, y, Math.max((s1 - s0) * cw, 1.5), Math.max(rowH, 0.8));
      rows.push(["record and reverse step" + (s1 - s0 > 1 ? "s " + s0 + " … " + (s1 - 1) : " " + s0), s0, s1]); y += rowH;
    } else if (a[0] === "store") {
      const s0 = bounds(a[1])[0];
      ctx.fillStyle = "#1e9e53"; ctx.beginPath();
      ctx.arc(left + s0 * cw, y + rowH / 2, Math.max(1.5, Math.min(4, rowH / 2)), 0, 7); ctx.fill();
    }
  }
  ctx.fillStyle = "#444";
  ctx.save(); ctx.translate(14, top + lanes * rowH / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
  ctx.fillText("order of execution ↓", 0, 0); ctx.restore();
  xAxis(ctx, left, top + lanes * rowH + 2, cw, T, "step");
  $("schedule-note").textContent = S.describe + ": " + S.recomputed + " steps recomputed beyond one forward pass, at most " +
    S.peak_snapshots + " states stored at once, a step advanced at most " + S.repetition + " times. " +
    "Green: a stored state; blue: advances without a tape; red: a step recorded and reversed; bars: advances per step.";
  geom.schedule = { x0: left, y0: top, cw, ch: rowH, rows: lanes, cols: T };
  hit.schedule = (x, yy) => {
    const t = Math.floor((x - left) / cw);
    if (t < 0 || t >= T) return null;
    if (yy < top) return { text: "step " + t + ": advanced " + S.runs[t] + " time(s)" +
      (S.first_sweep.includes(t) ? "; its incoming state stored in the first sweep" : ""), value: S.runs[t], step: t, quantity: "advances" };
    const r = rows[Math.floor((yy - top) / rowH)];
    return r ? { text: "action: " + r[0], value: null, step: t, quantity: "schedule" } : null;
  };
}

// ------------------------------------------------------------------ per-step alignment with the exact gradient
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f",
                 "#ff9da7", "#bab0ac"];
function alignColour(i) { return PALETTE[i % PALETTE.length]; }
function finite(v) { return v !== null && v !== undefined && Number.isFinite(v); }
function meanOf(v) {  // over the steps where it is defined (JSON null: undefined there)
  let s = 0, n = 0;
  for (const x of v || []) if (finite(x)) { s += x; n++; }
  return n ? s / n : null;
}
function fixed(v, digits) { return finite(v) ? v.toFixed(digits) : "n/a"; }
function expo(v, digits) { return finite(v) ? v.toExponential(digits) : "n/a"; }
function alignedIndex() {  // the selected mode's line, -1 when it is not among them
  const A = D.alignment;
  return A && A.modes ? A.modes.findIndex((a) => a.mode === M().mode) : -1;
}
function modeIndexOf(name) { return D.modes.findIndex((m) => m.mode === name); }
function drawAlignment() {
  const A = D.alignment, left = 64, right = 12, top = 12, bottom = 36, h = 250;
  const { ctx, w } = setup("alignment", h);
  const legend = $("alignment-legend"), table = $("alignment-table"), note = $("alignment-note");
  legend.innerHTML = ""; table.innerHTML = "";
  if (!A || !A.modes || !A.modes.length) {
    const why = "not computed: rg.explore.explore(…, online=[rg.bptt.rtrl(), …]) or alignment=True";
    ctx.fillStyle = "#666"; ctx.textAlign = "left"; ctx.fillText(why, 8, h / 2);
    note.textContent = "not computed for this page";
    const tr = document.createElement("tr"), td = document.createElement("td");
    td.textContent = "alignment " + why; tr.appendChild(td); table.appendChild(tr);
    geom.alignment = null; hit.alignment = () => null;
    return;
  }
  const T = A.T, sel = alignedIndex();
  const cw = (w - left - right) / T, ph = h - top - bottom;
  let lo = 0;
  for (const a of A.modes) for (const v of a.cosine.concat(a.mean_cosine)) if (finite(v)) lo = Math.min(lo, v);
  lo = Math.max(-1, Math.floor(lo * 4) / 4);  // [0, 1], or down to −1 in quarters
  const hi = 1, ly = (v) => top + ph * (hi - Math.min(hi, Math.max(lo, v))) / (hi - lo);
  ctx.textAlign = "right"; ctx.lineWidth = 1;
  for (let g = lo; g <= hi + 1e-9; g += 0.25) {
    const y = ly(g);
    ctx.strokeStyle = Math.abs(g) < 1e-9 || Math.abs(g - 1) < 1e-9 ? "#c8c8cc" : "#ececf0";
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + T * cw, y); ctx.stroke();
    ctx.fillStyle = "#777"; ctx.fillText(g.toFixed(2), left - 6, y);
  }
  ctx.strokeStyle = "#ccc"; ctx.strokeRect(left, top, T * cw, ph);
  ctx.save(); ctx.translate(14, top + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center"; ctx.fillStyle = "#444";
  ctx.fillText("cos(ĝₜ, dLₜ/dθ)", 0, 0); ctx.restore();
  const order = A.modes.map((_, i) => i).filter((i) => i !== sel);
  if (sel >= 0) order.push(sel);  // the selected mode on top
  const dots = T <= 48;
  // solid: the cosine (each seed's, averaged over the seeds); dashed, for a stochastic mode: that of the mean
  const lines = [];
  for (const i of order) {
    if (A.modes[i].seeds > 1) lines.push([i, "mean_cosine"]);
    lines.push([i, "cosine"]);
  }
  for (const [i, key] of lines) {
    const vals = A.modes[i][key], mine = i === sel, dashed = key === "mean_cosine";
    ctx.globalAlpha = sel >= 0 && !mine ? 0.6 : 1;
    ctx.strokeStyle = ctx.fillStyle = alignColour(i); ctx.lineWidth = mine ? 3 : 1.5;
    ctx.setLineDash(dashed ? [5, 4] : []);
    ctx.beginPath(); let pen = false;
    vals.forEach((v, t) => {
      if (!finite(v)) { pen = false; return; }
      const x = left + (t + 0.5) * cw, y = ly(v);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
    ctx.setLineDash([]);
    if (dots && !dashed) vals.forEach((v, t) => {
      if (!finite(v)) return;
      ctx.beginPath(); ctx.arc(left + (t + 0.5) * cw, ly(v), mine ? 3 : 2, 0, 7); ctx.fill();
    });
  }
  ctx.globalAlpha = 1; ctx.lineWidth = 1;
  xAxis(ctx, left, top + ph, cw, T, "step t (from 0)");
  note.textContent = "T = " + T + " steps; " + (sel >= 0 ? "the selected mode, " + M().mode + ", drawn thick" :
    "the selected mode, " + M().mode + ", is not among these") +
    (A.modes.some((a) => a.seeds > 1) ? "; dashed: a stochastic mode's cosine of the mean over seeds" : "");
  A.modes.forEach((a, i) => {
    const s = document.createElement("span"), sw = document.createElement("i");
    sw.style.background = alignColour(i); s.appendChild(sw);
    s.appendChild(document.createTextNode(a.mode + (a.seeds > 1 ? " (" + a.seeds + " seeds)" : "")));
    s.dataset.mode = a.mode;
    if (i === sel) s.className = "sel";
    legend.appendChild(s);
  });
  const head = document.createElement("tr");
  head.innerHTML = "<th>mode</th><th>mean cosine</th><th>cosine of the mean over seeds</th>" +
    "<th>mean rel. variance</th><th>seeds</th>";
  table.appendChild(head);
  A.modes.forEach((a, i) => {
    const tr = document.createElement("tr"), c = meanOf(a.cosine), cm = meanOf(a.mean_cosine), v = meanOf(a.variance);
    const cells = [a.mode, fixed(c, 6), fixed(cm, 6), expo(v, 3), String(a.seeds)];
    cells.forEach((text, j) => {
      const td = document.createElement("td");
      if (j === 0) { const sw = document.createElement("i"); sw.className = "swatch"; sw.style.background = alignColour(i); td.appendChild(sw); }
      td.appendChild(document.createTextNode(text));
      tr.appendChild(td);
    });
    tr.dataset.mode = a.mode;
    tr.title = "mean over the steps: cosine " + fmt(c) + ", cosine of the mean " + fmt(cm) + ", relative variance " + fmt(v);
    const k = modeIndexOf(a.mode);
    if (k >= 0) { tr.classList.add("pick"); tr.addEventListener("click", () => window.retrograd.setMode(k)); }
    if (i === sel) tr.classList.add("sel");
    table.appendChild(tr);
  });
  geom.alignment = { x0: left, y0: top, cw, ch: ph, rows: 1, cols: T, y: ly };
  hit.alignment = (x, y) => {
    const t = Math.floor((x - left) / cw);
    if (t < 0 || t >= T || y < top - 6 || y > top + ph + 6) return null;
    let best = null, dist = Infinity;
    for (const [i, key] of lines.slice().reverse()) {  // ties: the line drawn on top (the selected mode's)
      const v = A.modes[i][key][t];
      if (finite(v) && Math.abs(ly(v) - y) < dist) { dist = Math.abs(ly(v) - y); best = [i, key]; }
    }
    const rows = A.modes.map((a, i) => (best && i === best[0] ? "▸ " : "   ") + a.mode + ": " + fmt(a.cosine[t]) +
      (a.seeds > 1 ? " (of the mean " + fmt(a.mean_cosine[t]) + ", rel. variance " + fmt(a.variance[t]) + ")" : ""));
    const b = best ? A.modes[best[0]] : null, ofMean = best && best[1] === "mean_cosine";
    return { text: "step t = " + t + ": cos(ĝₜ, dLₜ/dθ)" + (A.modes.some((a) => a.seeds > 1) ? ", averaged over seeds" : "") +
               "\n" + rows.join("\n"),
             value: b ? b[best[1]][t] : null, step: t, quantity: b ? b.mode + (ofMean ? ": cosine of the mean" : "") : "" };
  };
}

// ------------------------------------------------------------------ wiring
function renderAll() {
  drawLine(); drawHeatmap(); drawReach(); drawConn("conn-full", false); drawConn("conn-mode", true);
  $("conn-mode-title").textContent = "under " + M().mode;
  drawBias(); drawSchedule(); drawAlignment();
  $("mode-summary").textContent = M().mode + ": ‖∂L/∂h‖ at step 0 / its max = " + Number(M().vanishing_ratio).toExponential(2);
}
function showTip(ev, res) {
  if (!res) { tip.style.display = "none"; return; }
  tip.textContent = res.text;
  tip.dataset.value = res.value === null || res.value === undefined ? "" : String(res.value);
  tip.dataset.step = String(res.step); tip.dataset.quantity = res.quantity;
  tip.style.display = "block";
  const x = Math.max(4, Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4));
  const y = Math.max(4, Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 4));
  tip.style.left = x + "px"; tip.style.top = y + "px";
}
for (const id of ["flow-line", "heatmap", "reach", "conn-full", "conn-mode", "schedule", "alignment"]) {
  const c = $(id);
  c.addEventListener("mousemove", (ev) => {
    const b = c.getBoundingClientRect();
    showTip(ev, hit[id] ? hit[id](ev.clientX - b.left, ev.clientY - b.top) : null);
  });
  c.addEventListener("mouseleave", () => { tip.style.display = "none"; });
}
const modeSel = $("mode"), rowSel = $("row"), normSel = $("norm");
D.modes.forEach((m, i) => { const o = document.createElement("option"); o.value = i; o.textContent = m.mode; modeSel.appendChild(o); });
const all = document.createElement("option"); all.value = -1; all.textContent = "all rows (batch total)"; rowSel.appendChild(all);
for (let b = 0; b < D.rows_shown; b++) { const o = document.createElement("option"); o.value = b; o.textContent = "row " + b; rowSel.appendChild(o); }
modeSel.addEventListener("change", () => { state.mode = +modeSel.value; renderAll(); });
rowSel.addEventListener("change", () => { state.row = +rowSel.value; renderAll(); });
normSel.addEventListener("change", () => { state.norm = normSel.value; renderAll(); });
const viewSel = $("view");
if (REF < 0) viewSel.disabled = true;  // no plain full() traced: nothing to compare with
viewSel.addEventListener("change", () => { state.view = viewSel.value; renderAll(); });
window.addEventListener("resize", renderAll);
renderAll();
window.retrograd = {
  data: D, state, render: renderAll,
  setMode(i) { modeSel.value = i; state.mode = +i; renderAll(); },
  setRow(b) { rowSel.value = b; state.row = +b; renderAll(); },
  setView(v) { viewSel.value = v; state.view = v; renderAll(); },
  cellCenter(id, r, c) {  // page coordinates of cell (row r, column c) of a panel, for tests and tools
    const g = geom[id], b = $(id).getBoundingClientRect();
    const rr = g.flip ? g.rows - 1 - r : r;
    return { x: b.left + g.x0 + (c + 0.5) * g.cw, y: b.top + g.y0 + (rr + 0.5) * g.ch };
  },
  alignmentPoint(k, t, key = "cosine") {  // page coordinates of mode k's point at step t on the alignment chart
    const g = geom.alignment, b = $("alignment").getBoundingClientRect();  // (key "mean_cosine": the dashed line)
    const v = g ? D.alignment.modes[k][key][t] : null;
    return finite(v) ? { x: b.left + g.x0 + (t + 0.5) * g.cw, y: b.top + g.y(v) } : null;
  },
};
})();
