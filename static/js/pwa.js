// The traders' installable app (issue 16), on every page of a signed-in trader: registers the
// service worker (/sw.js, config/pwa.py) that opens the POS and our own "Mất mạng" page when the
// network is gone, tells it the page's language for that page, and on sign-out clears what the
// phone kept (the POS copy, carts, offline sales), asking first when cash sales are not sent yet.
(function () {
  var me = document.currentScript;
  if (!me) return;
  if ("serviceWorker" in navigator && me.dataset.sw) {
    navigator.serviceWorker.register(me.dataset.sw, { scope: "/" }).catch(function () { /* an old browser: the pages work as before */ });
  }
  if (window.caches) {
    caches.open("choso-prefs").then(function (cache) {
      return cache.put("/__choso/lang", new Response(document.documentElement.lang || "vi"));
    }).catch(function () { /* private mode */ });
  }

  function forget() {
    try {
      Object.keys(localStorage).forEach(function (k) { if (k.indexOf("choso-") === 0) localStorage.removeItem(k); });
    } catch (e) { /* private mode */ }
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("choso-pages-") === 0; })
        .map(function (n) { return caches.delete(n); }));
    }).catch(function () { /* nothing kept */ });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-logout]") || form.dataset.forgotten) return;
    if (navigator.onLine === false) return; // net.js says the network is gone; nothing is lost
    e.preventDefault();
    var waiting = window.chosoQueue ? window.chosoQueue.count() : 0;
    if (waiting && !window.confirm(form.dataset.logout.replace("{n}", waiting))) return;
    forget().then(function () {
      form.dataset.forgotten = "1";
      form.submit();
    });
  }, true);
})();
