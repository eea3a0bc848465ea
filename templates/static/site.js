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

  // A chart's numbers live once, in its data file (data/charts/<id>.js, a script so that it
  // loads from file:// too): the figure every language shares, and per language the words
  // that differ (an overlay), its title, summary, source and page.
  var LANG = document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
  var chartsLoading = {};

  function loadChart(id) {
    if (!/^[a-z0-9_-]+$/.test(id)) return Promise.reject(new Error("no such chart"));
    if (!chartsLoading[id]) {
      chartsLoading[id] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = body.getAttribute("data-charts") + id + ".js";
        s.onload = function () {
          var all = window.collectwatchCharts || {};
          var data = Object.prototype.hasOwnProperty.call(all, id) ? all[id] : null;
          if (data && data.text && data.text[LANG]) resolve(data);
          else reject(new Error("no such chart"));
        };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return chartsLoading[id];
  }

  // The inverse of the build's charts.split_languages: an overlay's objects are laid over
  // the shared part's objects and lists (a list's items keyed by index), anything else
  // replaces what is there.
  function overlay(base, patch) {
    if (patch && typeof patch === "object" && !Array.isArray(patch) && base && typeof base === "object") {
      var out = Array.isArray(base) ? base.slice() : Object.assign({}, base);
      Object.keys(patch).forEach(function (k) {
        if (k !== "__proto__") out[k] = overlay(out[k], patch[k]);
      });
      return out;
    }
    return patch;
  }

  function figureOf(data) {
    return overlay(JSON.parse(JSON.stringify(data.figure)), data.text[LANG].patch);
  }

  // A chart is first the static SVG the build drew into the page: no script, no layout
  // work. Its data file and plotly.js (the site's own copy, loaded once) replace it only
  // when a reader reaches for that chart. draw() returns a promise of the drawn chart.
  function draw(div) {
    if (div.cwDrawn) return div.cwDrawn;
    div.setAttribute("data-drawn", "1");
    div.setAttribute("aria-busy", "true");
    div.cwDrawn = Promise.all([loadChart(div.getAttribute("data-figure")), loadPlotly()]).then(function (got) {
      var fig = figureOf(got[0]), Plotly = got[1];
      var layout = fig.layout || {};
      // Text follows the page's light or dark colour scheme.
      layout.font = layout.font || {};
      layout.font.color = window.getComputedStyle(div).color;
      var still = div.querySelector("svg.cw-chart");
      if (still) div.removeChild(still);
      return Plotly.newPlot(div, fig.data || [], layout, {
        responsive: true, displaylogo: false, topojsonURL: body.getAttribute("data-geo"),
        // Nothing leaves the site: no "edit in Chart Studio" upload button.
        showSendToCloud: false, plotlyServerURL: "",
        modeBarButtonsToRemove: ["sendDataToCloud", "sendChartToCloud"]
      });
    }).then(function () {
      div.setAttribute("data-rendered", "1");
      div.removeAttribute("aria-busy");
      var control = div.closest(".chart").querySelector(".draw");
      if (control) {
        // Its job is done; keyboard focus moves on to the chart it drew.
        var focused = control.contains(document.activeElement);
        control.hidden = true;
        if (focused) { div.setAttribute("tabindex", "-1"); div.focus({ preventScroll: true }); }
      }
      // Bars that carry a lender slug lead to that lender's page.
      div.on("plotly_click", function (ev) {
        var slug = ev && ev.points && ev.points[0] && ev.points[0].customdata;
        if (typeof slug === "string" && /^[a-z0-9-]+$/.test(slug)) {
          window.location.href = body.getAttribute("data-lenders") + slug + "/";
        }
      });
      return div;
    });
    div.cwDrawn.catch(function () {
      div.removeAttribute("aria-busy");
      div.closest(".chart").classList.add("show-table");
    });
    return div.cwDrawn;
  }

  // What counts as reaching for a chart: a mouse or pen over it, a tap or click on it,
  // focus anywhere in its figure (its links, its table, its buttons), its "interactive
  // chart" button, an image download, or a permalink to it. Scrolling past is not.
  // A chart with several resolutions shows one plot at a time (a CSS switch); only the
  // shown one is drawn, since a hidden box has no size to draw in. Picking a resolution is
  // not reaching for the chart, but once a chart is interactive its other views are too.
  function shown(fig) {
    var plots = fig.querySelectorAll(".plot[data-figure]");
    for (var i = 0; i < plots.length; i++) if (plots[i].getClientRects().length) return plots[i];
    return plots[0];
  }

  function wire(fig) {
    var plots = fig.querySelectorAll(".plot[data-figure]");
    if (!plots.length) return;
    var use = function () { return draw(shown(fig)); };
    plots.forEach(function (div) {
      div.addEventListener("pointerenter", function (e) {
        if (e.pointerType !== "touch") use();
      });
      div.addEventListener("click", use);
    });
    fig.addEventListener("focusin", function (e) {
      if (!e.target.closest(".resolution")) use();
    });
    fig.querySelectorAll(".resolution input").forEach(function (input) {
      input.addEventListener("change", function () {
        if (fig.querySelector(".plot[data-drawn]")) use();
      });
    });
    var control = fig.querySelector(".draw");
    if (control) {
      control.hidden = false;
      control.querySelector("button").addEventListener("click", use);
    }
  }
  document.querySelectorAll(".chart").forEach(wire);

  // The embed page (embed/?chart=<id>) is one page for every chart: it fills its figure
  // from the chart's data file and draws it at once (a frame on another site is there to
  // show the chart), or keeps saying that the chart can't be shown.
  function embed(fig) {
    var id = new URLSearchParams(window.location.search).get("chart") || "";
    loadChart(id).then(function (data) {
      var t = data.text[LANG], plot = fig.querySelector(".plot");
      var missing = document.querySelector(".embed-missing");
      fig.querySelector("h3").textContent = t.title;
      fig.querySelector(".summary").textContent = t.summary;
      plot.setAttribute("data-title", t.title);
      plot.setAttribute("data-credit", plot.getAttribute("data-source") + ": " + t.source + " · " + plot.getAttribute("data-as-of"));
      plot.setAttribute("data-file", id);
      plot.setAttribute("data-figure", id);
      fig.querySelector("a.csv").href = body.getAttribute("data-charts") + id + ".csv";
      fig.querySelector("a.page").href = body.getAttribute("data-root") + t.page;
      document.title = t.title;
      fig.id = id;
      fig.hidden = false;
      missing.hidden = true;
      wire(fig);
      draw(plot).catch(function () {  // no table to fall back on here: say so instead
        fig.hidden = true;
        missing.hidden = false;
      });
    }, function () {});
  }
  var embedded = document.querySelector(".embed-page .chart");
  if (embedded) embed(embedded);

  // Images a journalist can reuse: the chart with its title, source and data date drawn
  // in, made in the browser from the site's own plotly.js (nothing leaves the page).
  function plain(text) {  // Plotly reads a few HTML tags in text; a title may hold none
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  var CRC = (function () {
    var t = [], c, n, k;
    for (n = 0; n < 256; n++) {
      c = n;
      for (k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    return t;
  })();

  function crc32(bytes) {
    var c = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) c = CRC[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  // A PNG keeps its title and source as iTXt (UTF-8 text) chunks too, so the file says
  // what it shows.
  function pngWithText(dataUrl, fields) {
    var bin = atob(dataUrl.split(",")[1]);
    var png = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) png[i] = bin.charCodeAt(i);
    var chunks = [];
    Object.keys(fields).forEach(function (key) {
      // keyword, NUL, no compression (0, 0), no language or translated keyword (NUL, NUL)
      var text = unescape(encodeURIComponent(key + "\0\0\0\0\0" + fields[key]));
      var body = new Uint8Array(4 + text.length);
      body.set([0x69, 0x54, 0x58, 0x74]);  // "iTXt"
      for (var j = 0; j < text.length; j++) body[4 + j] = text.charCodeAt(j);
      var chunk = new Uint8Array(12 + text.length);
      var view = new DataView(chunk.buffer);
      view.setUint32(0, text.length);
      chunk.set(body, 4);
      view.setUint32(8 + text.length, crc32(body));
      chunks.push(chunk);
    });
    var cut = 33;  // signature (8) + IHDR chunk (25)
    var size = png.length + chunks.reduce(function (n, c) { return n + c.length; }, 0);
    var out = new Uint8Array(size), at = cut;
    out.set(png.subarray(0, cut));
    chunks.forEach(function (c) { out.set(c, at); at += c.length; });
    out.set(png.subarray(cut), at);
    return new Blob([out], { type: "image/png" });
  }

  function saveImage(div, format) {
    var title = div.getAttribute("data-title"), credit = div.getAttribute("data-credit");
    return loadPlotly().then(function (Plotly) {
      var layout = JSON.parse(JSON.stringify(div.layout));
      var margin = layout.margin || {};
      layout.margin = { l: margin.l || 8, r: margin.r || 8, t: (margin.t || 24) + 72, b: margin.b || 8 };
      layout.title = {
        text: "<b>" + plain(title) + "</b><br><span style=\"font-size:11px\">" + plain(credit) + "</span>",
        x: 0.01, xanchor: "left", y: 0.98, yanchor: "top", font: { size: 17, color: "#222" }
      };
      layout.paper_bgcolor = "#ffffff";
      layout.font = Object.assign({}, layout.font, { color: "#444" });
      var height = (layout.height || div.clientHeight || 400) + 72;
      return Plotly.toImage({ data: div.data, layout: layout }, { format: format, width: 960, height: height });
    }).then(function (url) {
      var blob = format === "png" ? pngWithText(url, { Title: title, Source: credit }) : null;
      var a = document.createElement("a");
      a.href = blob ? URL.createObjectURL(blob) : url;
      a.download = div.getAttribute("data-file") + "." + format;
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  document.querySelectorAll(".chart .download-image").forEach(function (btn) {
    btn.closest(".image-downloads").hidden = false;
    btn.addEventListener("click", function () {
      var div = shown(btn.closest(".chart"));
      draw(div).then(function () { return saveImage(div, btn.getAttribute("data-format")); });
    });
  });

  // A permalink (#chart-id) draws its chart at once, however far down the page it is.
  function openLinked() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var fig = id && document.getElementById(id);
    if (fig && fig.classList.contains("chart")) {
      if (fig.querySelector(".plot[data-figure]")) draw(shown(fig));
      fig.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();

  // Chart ↔ table toggle.
  document.querySelectorAll(".chart .toggle-table").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var fig = btn.closest(".chart");
      var on = fig.classList.toggle("show-table");
      btn.setAttribute("aria-pressed", on ? "true" : "false");
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
