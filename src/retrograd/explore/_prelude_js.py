"""The opening every explorer page's script shares: how it reads its embedded
data, the inverse of ``page.dumps`` (non-finite floats travel as the strings
"Infinity", "-Infinity" and "NaN", which JSON cannot hold as numbers)."""

PRELUDE = r"""
(function () {
"use strict";
const $ = (id) => document.getElementById(id);
const D = JSON.parse($("retrograd-trace").textContent, (k, v) =>
  v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v);
document.body.classList.add("js");
"""
