// Trader screens never navigate into a dead network (issue 16): ask first with fetch, go only
// when the server answers. While it does not, an inline "mất mạng" notice stays at the top of
// the page and the request is tried again with a growing pause (1, 2, 4, 8 s), at once when the
// browser says it is back online.
(function () {
  var notice = document.getElementById("net-notice");
  var waiting = [];

  function show(text) {
    if (!notice) return;
    notice.textContent = text || notice.dataset.offline;
    notice.hidden = false;
  }
  function hide() { if (notice) notice.hidden = true; }

  // Try `attempt` (a function returning a promise that rejects on a network failure) until it
  // resolves; returns a promise of its result.
  function retry(attempt) {
    return new Promise(function (resolve) {
      var delay = 1000, timer = null;
      function run() {
        timer = null;
        attempt().then(function (result) {
          hide();
          waiting = waiting.filter(function (w) { return w !== wake; });
          resolve(result);
        }, function () {
          show(navigator.onLine === false ? notice && notice.dataset.offline : notice && notice.dataset.retrying);
          timer = setTimeout(run, delay);
          delay = Math.min(delay * 2, 8000);
        });
      }
      function wake() { if (timer) { clearTimeout(timer); delay = 1000; run(); } }
      waiting.push(wake);
      run();
    });
  }

  window.addEventListener("online", function () {
    if (!waiting.length) hide();
    waiting.slice().forEach(function (w) { w(); });
  });
  window.addEventListener("offline", function () { show(); });

  // Navigate to `url` (a reload when it is this page) once a GET of it answers.
  function go(url) {
    url = url || window.location.href;
    return retry(function () {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.status >= 500) throw new Error("server " + r.status);
        return r;
      });
    }).then(function () {
      if (url === window.location.href) window.location.reload();
      else window.location.assign(url);
    });
  }

  window.chosoNet = { go: go, retry: retry, show: show, hide: hide };
})();
