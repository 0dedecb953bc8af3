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
  // Opened without a network (the service worker's copy of the POS, issue 16): say so at once.
  if (navigator.onLine === false) show();

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

  // Forms marked data-net-submit (carrying an idempotency key) are sent with fetch first: on an
  // answer that moves on (a redirect), go there; on any other answer (the form again, with its
  // error), submit for real, the network being up; on no answer, stay, say so, and let the next
  // tap send the same form (same key: one effect).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-net-submit]") || form.dataset.netPassed) return;
    e.preventDefault();
    if (form.dataset.netSending) return;
    form.dataset.netSending = "1";
    var body = new FormData(form);
    if (e.submitter && e.submitter.name) body.set(e.submitter.name, e.submitter.value);
    var submitter = e.submitter;
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.ok && r.redirected) { window.location.assign(r.url); return; }
      form.dataset.netPassed = "1";
      delete form.dataset.netSending;
      if (submitter && form.requestSubmit) form.requestSubmit(submitter);
      else form.submit();
    }, function () {
      delete form.dataset.netSending;
      show();
    });
  });

  // A link tapped while the browser knows it is offline: stay, say so, and go once the page
  // answers (online, links go at once, with no extra request).
  document.addEventListener("click", function (e) {
    if (navigator.onLine !== false || e.defaultPrevented || e.button !== 0) return;
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    var link = e.target.closest ? e.target.closest("a[href]") : null;
    if (!link || link.target || link.hasAttribute("download")) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.hash && url.pathname === window.location.pathname) return;
    e.preventDefault();
    go(url.href);
  });
  // Likewise a plain form (not data-net-submit, which handles itself) sent while offline.
  document.addEventListener("submit", function (e) {
    if (navigator.onLine !== false || e.defaultPrevented) return;
    if (e.target.matches && e.target.matches("form[data-net-submit]")) return;
    e.preventDefault();
    show();
  });

  window.chosoNet = { go: go, retry: retry, show: show, hide: hide };
})();
