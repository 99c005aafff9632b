"use strict";
// Rating form: collects the radio buttons into the sheet's CSV (same columns `escbench human
// import` reads), saves it as a download, and keeps unsaved work in localStorage.
(function () {
  var form = document.getElementById("sheet");
  var dimensions = JSON.parse(form.getAttribute("data-dimensions"));
  var sheet = form.getAttribute("data-sheet");
  var storeKey = "escbench-rating:" + form.getAttribute("data-key");
  var units = Array.prototype.slice.call(form.querySelectorAll("fieldset.unit"));
  var status = document.getElementById("status");
  var output = document.getElementById("csv-out");

  function quote(value) {
    var text = String(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function checked(unit, dimension) {
    var inputs = unit.querySelectorAll("input[type=radio]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (inputs[i].getAttribute("data-dimension") === dimension && inputs[i].checked) { return inputs[i].value; }
    }
    return "";
  }
  function collect() {
    var lines = [["id", "conversation"].concat(dimensions, ["comment"]).map(quote).join(",")];
    var missing = [];
    units.forEach(function (unit) {
      var scores = dimensions.map(function (d) { return checked(unit, d); });
      var complete = scores.every(function (s) { return s !== ""; });
      unit.classList.toggle("incomplete", !complete);
      if (!complete) { missing.push(unit.getAttribute("data-id")); }
      var comment = unit.querySelector("input.comment").value;
      lines.push([unit.getAttribute("data-id"), unit.getAttribute("data-conversation")]
        .concat(scores, [comment]).map(quote).join(","));
    });
    return { csv: lines.join("\r\n") + "\r\n", missing: missing };
  }
  function report(result) {
    var done = units.length - result.missing.length;
    status.textContent = done + " of " + units.length + " complete" +
      (result.missing.length ? "; first incomplete: " + result.missing[0] : "");
  }
  function remember() {
    var state = {};
    form.querySelectorAll("input").forEach(function (input) {
      if (input.type === "radio" && input.checked) { state[input.name] = input.value; }
      if (input.type === "text" && input.value) { state[input.name] = input.value; }
    });
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (ignored) { /* storage may be off */ }
  }
  function restore() {
    var state = null;
    try { state = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (ignored) { state = null; }
    if (!state) { return; }
    form.querySelectorAll("input").forEach(function (input) {
      if (!(input.name in state)) { return; }
      if (input.type === "radio") { input.checked = input.value === state[input.name]; }
      if (input.type === "text") { input.value = state[input.name]; }
    });
  }

  form.addEventListener("change", function () { remember(); report(collect()); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  document.getElementById("save").addEventListener("click", function () {
    var result = collect();
    report(result);
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([result.csv], { type: "text/csv;charset=utf-8" }));
    link.download = sheet;
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  document.getElementById("show").addEventListener("click", function () {
    var result = collect();
    report(result);
    output.value = result.csv;
    output.hidden = false;
    output.select();
  });
  restore();
  report(collect());
  document.body.setAttribute("data-ready", "1");
}());
