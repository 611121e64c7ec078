/* The opening every explorer page's script shares: the page inlines this file and
   then trace.js or explain.js in one <script>, so this opens the function that
   they close. It defines $ and D, the data embedded in
   <script type="application/json" id="retrograd-trace"> read back as the inverse
   of page.dumps (non-finite floats travel as the strings "Infinity", "-Infinity"
   and "NaN", which JSON cannot hold as numbers), and marks <body> "js" (the CSS
   then hides the static fallback image).
   This header is dropped when the page is written (explore/_assets.py). */

(function () {
"use strict";
const $ = (id) => document.getElementById(id);
const D = JSON.parse($("retrograd-trace").textContent, (k, v) =>
  v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v);
document.body.classList.add("js");
