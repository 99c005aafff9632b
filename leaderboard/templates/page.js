"use strict";
// Progressive enhancement only: the page is complete without this script. It never turns
// text into markup (no innerHTML), so strings from results cannot become code.
(function () {
  document.documentElement.classList.add("js");
  var boards = Array.prototype.slice.call(document.querySelectorAll(".board"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll(".switcher button"));

  function show(id) {
    if (!boards.some(function (b) { return b.id === id; })) { id = boards.length ? boards[0].id : ""; }
    boards.forEach(function (board) { board.hidden = board.id !== id; });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-board") === id));
    });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-board");
      show(id);
      if (history.replaceState) { history.replaceState(null, "", "#" + id); }
    });
  });
  show(decodeURIComponent(location.hash.slice(1)));

  function cellKey(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) { return numeric ? NaN : ""; }
    var raw = cell.getAttribute("data-value");
    if (numeric) { return raw === null || raw === "" ? NaN : parseFloat(raw); }
    return (raw !== null ? raw : cell.textContent).trim().toLowerCase();
  }

  document.querySelectorAll("table.scores").forEach(function (table) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    headers.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "number";
        var current = th.getAttribute("aria-sort");
        var descending = current ? current === "ascending" : th.getAttribute("data-higher") === "true";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        table.querySelectorAll("tbody").forEach(function (body) {
          var rows = Array.prototype.slice.call(body.querySelectorAll("tr"));
          rows.sort(function (a, b) {
            var x = cellKey(a, index, numeric), y = cellKey(b, index, numeric);
            if (numeric) {
              if (isNaN(x) && isNaN(y)) { return 0; }
              if (isNaN(x)) { return 1; }
              if (isNaN(y)) { return -1; }
              return descending ? y - x : x - y;
            }
            return descending ? (x < y ? 1 : x > y ? -1 : 0) : (x < y ? -1 : x > y ? 1 : 0);
          });
          rows.forEach(function (row) { body.appendChild(row); });
        });
      });
    });
  });

  document.querySelectorAll("input.sample-filter").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-list"));
    var count = document.getElementById(input.getAttribute("data-count"));
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      var shown = 0;
      list.querySelectorAll("article.sample").forEach(function (sample) {
        var match = !query || sample.textContent.toLowerCase().indexOf(query) !== -1;
        sample.hidden = !match;
        if (match) { shown += 1; }
      });
      if (count) { count.textContent = String(shown); }
    });
  });
  document.body.setAttribute("data-ready", "1");
}());
