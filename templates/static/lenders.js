// The lenders index: filter and sort every company, and show one page of rows at a time.
// Progressive enhancement only: without this file the page shows the companies with the
// most complaints, and the letter pages link every company. The list itself comes from a
// script (data-src) that sets window.collectwatchLenders, so it loads from file:// too. It
// is fetched once, when a reader reaches for the list (its filter, its "all lenders"
// button, a pointer or a tap on it, focus in it, or a ?filter= link), not with the page.
(function () {
  "use strict";
  var root = document.getElementById("lenders-index");
  if (!root) return;
  var table = root.querySelector("#lenders-table");
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var box = root.querySelector("#lender-filter");
  var status = root.querySelector("#lenders-status");
  var pager = root.querySelector(".pager");
  var at = pager.querySelector(".pager-at");
  var prev = pager.querySelector('[data-step="-1"]');
  var next = pager.querySelector('[data-step="1"]');
  var size = Math.max(1, parseInt(root.getAttribute("data-page-size"), 10) || 50);
  var base = root.getAttribute("data-lenders");
  var lang = document.documentElement.lang || "en";
  var collator = window.Intl ? new Intl.Collator(lang, { sensitivity: "base", numeric: true }) : null;
  var rows = [], order = [], shown = [], page = 0, key = "rank", asc = true;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? values[k] : m;
    });
  }

  function count(n) {  // as the server prints counts: 1,234
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function fold(text) {  // case and accents ignored, as on the letter pages
    text = String(text).toLowerCase();
    if (text.normalize) text = text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    return text;
  }

  // One row of the data → what sorting, filtering and drawing need.
  function entry(r, i) {
    var complaints = r[2];
    return {
      i: i, name: String(r[0]), slug: r[1], complaints: complaints, rank: r[3],
      share: complaints > 0 ? r[4] / complaints : null,
      first: r[5] || "", last: r[6] || "", folded: fold(r[0])
    };
  }

  function compare(a, b) {
    var x = a[key], y = b[key], r;
    if (key === "name") {
      r = collator ? collator.compare(x, y) : (x < y ? -1 : x > y ? 1 : 0);
    } else {
      // Missing values (a share of no complaints) go last whichever way the column sorts.
      if (x === null || x === "") return y === null || y === "" ? a.i - b.i : 1;
      if (y === null || y === "") return -1;
      r = x < y ? -1 : x > y ? 1 : 0;
    }
    return (asc ? r : -r) || a.i - b.i;
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = page * size, end = Math.min(start + size, shown.length);
    var frag = document.createDocumentFragment();
    for (var j = start; j < end; j++) {
      var e = shown[j], tr = document.createElement("tr");
      var td = cell(tr, "");
      if (typeof e.slug === "string" && /^[a-z0-9-]+$/.test(e.slug)) {
        var a = document.createElement("a");
        a.href = base + e.slug + "/";
        a.textContent = e.name;
        td.appendChild(a);
      } else {
        td.textContent = e.name;
      }
      cell(tr, count(e.complaints), "num");
      cell(tr, String(e.rank), "num");
      cell(tr, e.share === null ? "–" : (100 * e.share).toFixed(1) + "%", "num");
      cell(tr, e.first);
      cell(tr, e.last);
      frag.appendChild(tr);
    }
    tbody.textContent = "";
    tbody.appendChild(frag);
    var filtered = box.value.trim() !== "";
    status.textContent = shown.length === 0 ? root.getAttribute("data-status-none")
      : fill(root.getAttribute(filtered ? "data-status-match" : "data-status-all"),
        { total: count(shown.length), from: count(start + 1), to: count(end) });
    at.textContent = fill(root.getAttribute("data-page-of"), { page: page + 1, pages: pages });
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    pager.hidden = pages < 2;
  }

  function filter() {
    var q = fold(box.value.trim());
    shown = q === "" ? order : order.filter(function (e) { return e.folded.indexOf(q) !== -1; });
    page = 0;
    draw();
  }

  function sortBy(th) {
    var k = th.getAttribute("data-key");
    // A new column starts in its natural order: names A–Z, rank 1 first, the rest largest
    // (or latest) first.
    asc = k === key ? !asc : k === "name" || k === "rank";
    key = k;
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    order = rows.slice().sort(compare);
    filter();
  }

  function start(data) {
    if (!data || !data.rows) return;  // the server-rendered table stays as it is
    rows = data.rows.map(entry);
    order = rows.slice();  // the data comes sorted by rank, then name
    heads.forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(th); });
    });
    if (all) all.hidden = true;
    root.querySelector("#lenders-heading").textContent =
      fill(root.getAttribute("data-all"), { total: count(rows.length) });
    box.addEventListener("input", filter);
    [prev, next].forEach(function (btn) {
      btn.addEventListener("click", function () {
        page += parseInt(btn.getAttribute("data-step"), 10);
        draw();
        if (table.getBoundingClientRect().top < 0) root.scrollIntoView();
      });
    });
    var q = new URLSearchParams(window.location.search).get("filter");
    if (q) box.value = q;
    filter();
    root.setAttribute("data-ready", "1");
  }

  var asked = false;
  function load() {
    if (asked) return;
    asked = true;
    root.setAttribute("aria-busy", "true");
    var script = document.createElement("script");
    script.src = root.getAttribute("data-src");
    script.onload = function () {
      root.removeAttribute("aria-busy");
      start(window.collectwatchLenders);
    };
    script.onerror = function () { root.removeAttribute("aria-busy"); };
    document.head.appendChild(script);
  }

  var all = root.querySelector(".lenders-all");
  root.querySelector(".lenders-controls").hidden = false;
  root.addEventListener("focusin", load);
  root.addEventListener("click", load);
  root.addEventListener("pointerenter", function (e) {
    if (e.pointerType !== "touch") load();
  });
  if (all) {
    all.addEventListener("click", function () {
      load();
      all.hidden = true;
      root.querySelector(".table-scroll").focus();  // where the whole list will show
    });
  }
  if (new URLSearchParams(window.location.search).get("filter")) load();
})();
