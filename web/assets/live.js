// The live page: poll the server's head, and when a commit moved it,
// fetch the same page and swap its <main> in place (no reload, the
// scroll position and open <details> kept). Counts the data's age.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main) { return; }
  var version = null;

  function tickAge() {
    var p = document.querySelector(".asof[data-committed]");
    if (!p) { return; }
    var s = Math.max(0, Math.round((Date.now() - Date.parse(p.dataset.committed)) / 1000));
    var ago = p.querySelector(".ago");
    if (ago) { ago.textContent = String(s); }
  }

  function openDetails(root) {
    var open = [];
    root.querySelectorAll("details").forEach(function (d, i) { if (d.open) { open.push(i); } });
    return open;
  }

  function refresh() {
    var open = openDetails(main);
    return fetch(location.pathname + location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("main[data-live]");
        if (!next) { return; }
        var ds = next.querySelectorAll("details");
        open.forEach(function (i) { if (ds[i]) { ds[i].open = true; } });
        main.replaceChildren.apply(main, Array.prototype.slice.call(next.childNodes).map(function (n) { return document.importNode(n, true); }));
        document.title = doc.title;
        main.dataset.updated = String(Number(main.dataset.updated || "0") + 1);
        tickAge();
      });
  }

  function poll() {
    fetch("/api/head", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) {
        if (!h) { return; }
        if (version !== null && h.version !== version) {
          return refresh().then(function () { version = h.version; });
        }
        version = h.version;
      })
      .catch(function () { /* the server restarts or the network drops: try again */ })
      .then(function () { setTimeout(poll, 2000); });
  }

  tickAge();
  setInterval(tickAge, 1000);
  poll();
}());
