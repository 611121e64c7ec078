"""The explorer pages' CSS (inline: the files need no network)."""

CSS = r"""
:root { --fg: #1d1d1f; --muted: #6e6e73; --line: #d2d2d7; --bg: #fff; --panel: #fafafa; --accent: #0a66c2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
       margin: 0 auto; padding: 12px 18px 40px; max-width: 1280px; }
h1 { font-size: 20px; margin: 4px 0 6px; }
h2 { font-size: 15px; margin: 0 0 4px; }
p.note, .note { color: var(--muted); font-size: 12.5px; margin: 2px 0 6px; }
header .controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin: 6px 0 10px; }
label { font-size: 13px; }
select { font: inherit; padding: 2px 4px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
         margin: 0 0 12px; break-inside: avoid; }
.panel canvas { display: block; width: 100%; cursor: crosshair; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.pair h3 { font-size: 13px; margin: 2px 0; font-weight: 600; }
table { border-collapse: collapse; font-size: 12.5px; margin-top: 6px; }
th, td { padding: 2px 8px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.bar { width: 160px; }
td.bar span { display: inline-block; height: 9px; background: #c0392b; vertical-align: middle; }
#tooltip { position: fixed; pointer-events: none; background: rgba(20, 20, 24, .92); color: #fff; padding: 5px 8px;
           border-radius: 4px; font-size: 12px; display: none; z-index: 10; max-width: 420px; white-space: pre-line; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; }
.fallback img { max-width: 100%; }
body.js .fallback { display: none; }
#details { font-size: 13px; }
#details code { background: #eee; padding: 0 3px; }
#details a, #steps tr { cursor: pointer; }
#steps tr.sel td { background: #fff3bf; }
.scroll { max-height: 420px; overflow: auto; }
@media print {
  body.js .fallback { display: block; }
  body.js .interactive, header .controls, #tooltip { display: none; }
  .scroll { max-height: none; overflow: visible; }
}
"""
