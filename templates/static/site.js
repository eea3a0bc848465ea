// Progressive enhancement only: every page works as plain HTML without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var body = document.body;
  var plotlyLoading = null;

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!plotlyLoading) {
      plotlyLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = body.getAttribute("data-plotly");
        s.onload = function () { resolve(window.Plotly); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return plotlyLoading;
  }

  function draw(div) {
    if (div.getAttribute("data-drawn")) return;
    div.setAttribute("data-drawn", "1");
    var source = document.getElementById(div.getAttribute("data-figure"));
    var fig = JSON.parse(source.textContent);
    var layout = fig.layout || {};
    // Text follows the page's light or dark colour scheme.
    layout.font = layout.font || {};
    layout.font.color = window.getComputedStyle(div).color;
    loadPlotly().then(function (Plotly) {
      return Plotly.newPlot(div, fig.data || [], layout, {
        responsive: true, displaylogo: false, topojsonURL: body.getAttribute("data-geo"),
        // Nothing leaves the site: no "edit in Chart Studio" upload button.
        showSendToCloud: false, plotlyServerURL: "",
        modeBarButtonsToRemove: ["sendDataToCloud", "sendChartToCloud"]
      });
    }).then(function () {
      div.setAttribute("data-rendered", "1");
      // Bars that carry a lender slug lead to that lender's page.
      div.on("plotly_click", function (ev) {
        var slug = ev && ev.points && ev.points[0] && ev.points[0].customdata;
        if (typeof slug === "string" && /^[a-z0-9-]+$/.test(slug)) {
          window.location.href = body.getAttribute("data-lenders") + slug + "/";
        }
      });
    }).catch(function () {
      div.closest(".chart").classList.add("show-table");
    });
  }

  // Charts draw as they scroll into view, so a long page costs nothing up front.
  var plots = document.querySelectorAll(".plot[data-figure]");
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.unobserve(e.target); draw(e.target); }
      });
    }, { rootMargin: "200px" });
    plots.forEach(function (p) { io.observe(p); });
  } else {
    plots.forEach(draw);
  }

  // Chart ↔ table toggle.
  document.querySelectorAll(".chart .toggle-table").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var fig = btn.closest(".chart");
      var on = fig.classList.toggle("show-table");
      btn.setAttribute("aria-pressed", on ? "true" : "false");
    });
  });

  // Sortable tables: a button in each header; numbers sort by data-value.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, col) {
      th.querySelector("button").addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.getAttribute("data-sort") === "num";
        var tbody = table.tBodies[0];
        var rows = Array.prototype.slice.call(tbody.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = numeric ? parseFloat(x.getAttribute("data-value")) : x.textContent.trim();
          var vy = numeric ? parseFloat(y.getAttribute("data-value")) : y.textContent.trim();
          if (numeric) { vx = isNaN(vx) ? -Infinity : vx; vy = isNaN(vy) ? -Infinity : vy; }
          var r = numeric ? vx - vy : String(vx).localeCompare(String(vy));
          return asc ? r : -r;
        });
        rows.forEach(function (r) { tbody.appendChild(r); });
      });
    });
  });

  // Filter boxes: hide rows whose text does not contain the query.
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    input.closest("[hidden]") && input.closest("[hidden]").removeAttribute("hidden");
    var table = document.querySelector(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) === -1;
      });
    });
  });

  // Search page: Pagefind's UI, reading ?q= so the header form lands on results.
  function initSearch() {
    if (!document.getElementById("search") || !window.PagefindUI) return;
    var ui = new window.PagefindUI({ element: "#search", showImages: false, resetStyles: false });
    var q = new URLSearchParams(window.location.search).get("q");
    if (q) ui.triggerSearch(q);
  }
  window.addEventListener("load", initSearch);
})();
