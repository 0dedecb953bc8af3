// The traders' service worker (issue 16), served as /sw.js by config/pwa.py, which puts its
// configuration in front of this file: self.CHOSO = {version, shell, offline, defaultLang}.
//
// * Installs the POS shell (styles, scripts, icons) and the offline page in each language into
//   a cache named by the version: a deploy that changes any of them replaces worker and cache.
// * Pages (navigations) go to the network first. When it does not answer: the POS shows the
//   copy of itself the trader last saw (its scripts then queue cash sales), any other page our
//   "Mất mạng — đang chờ mạng" page, which reloads by itself. Never the browser's error page.
// * Only GET navigations and the shell's own files are answered here; form posts, the API, live
//   streams and every fetch of the page's scripts go to the network untouched (their own code
//   handles a lost network: net.js, pos.js, offline-queue.js).
// * Kept pages are the signed-in trader's own POS only (never a POST's answer, never another
//   page); signing out clears them (pwa.js, and Clear-Site-Data on the sign-out answer).
var CONFIG = self.CHOSO;
var SHELL = "choso-shell-" + CONFIG.version;
var PAGES = "choso-pages-" + CONFIG.version; // its copies name the shell's files of this version
var PREFS = "choso-prefs"; // the page's language, written by pwa.js
var POS_PAGE = /^\/cua-hang\/\d+\/ban-hang\/$/;

function offlineUrls() {
  return Object.keys(CONFIG.offline).map(function (lang) { return CONFIG.offline[lang]; });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL)
      .then(function (cache) { return cache.addAll(CONFIG.shell.concat(offlineUrls())); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return (name.indexOf("choso-shell-") === 0 && name !== SHELL) ||
          (name.indexOf("choso-pages-") === 0 && name !== PAGES);
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function offlinePage() {
  return caches.open(PREFS)
    .then(function (cache) { return cache.match("/__choso/lang"); })
    .then(function (hit) { return hit ? hit.text() : CONFIG.defaultLang; })
    .catch(function () { return CONFIG.defaultLang; })
    .then(function (lang) {
      var url = CONFIG.offline[lang] || CONFIG.offline[CONFIG.defaultLang];
      return caches.match(url, { cacheName: SHELL });
    })
    .then(function (hit) {
      return hit || new Response(
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
        "<h1>Mất mạng — đang chờ mạng</h1><p>No network — waiting for the connection.</p>",
        { headers: { "Content-Type": "text/html; charset=utf-8" } }
      );
    });
}

function page(event, url) {
  var isPos = POS_PAGE.test(url.pathname);
  return fetch(event.request).then(function (response) {
    if (isPos && response.status === 200 && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGES).then(function (cache) { return cache.put(url.pathname, copy); }));
    }
    return response;
  }).catch(function () {
    var kept = isPos ? caches.match(url.pathname, { cacheName: PAGES }) : Promise.resolve(null);
    return kept.then(function (hit) { return hit || offlinePage(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname.indexOf("/admin/") === 0 || url.pathname.indexOf("/api/") === 0) return;
    event.respondWith(page(event, url));
    return;
  }
  if (CONFIG.shell.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request, { cacheName: SHELL }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});
