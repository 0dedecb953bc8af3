// "Mất mạng — đang chờ mạng" (issue 16): the page the service worker shows for a trader's page
// it could not reach. It asks for the page the trader wanted (this address) with a growing pause
// (1, 2, 4, 8 s), at once when the browser says it is back online or on "Thử lại ngay", and
// opens it as soon as the server answers: never the browser's own offline page.
(function () {
  var delay = 1000, timer = null, asking = false;
  function attempt() {
    if (asking) return;
    asking = true;
    clearTimeout(timer);
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status >= 500) throw new Error("server " + r.status);
      window.location.reload();
    }).catch(function () {
      asking = false;
      timer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, 8000);
    });
  }
  function now() { delay = 1000; attempt(); }
  window.addEventListener("online", now);
  var button = document.getElementById("offline-retry"); // deferred: the page is parsed
  if (button) button.addEventListener("click", now);
  attempt();
})();
