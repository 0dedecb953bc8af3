// "Gửi thử" on a bank-alert connection's page: while a test is pending, listen to the shop's
// live stream and show the test notification the moment it arrives. After the stream opens (and
// after each reconnection) the page asks whether the test already came, so one that arrived
// before the stream was open is shown too.
(function () {
  var box = document.getElementById("test");
  if (!box || box.dataset.waiting !== "1" || !window.EventSource) return;
  var status = document.getElementById("test-status");
  var source = new EventSource(box.dataset.stream);

  function arrived(at) {
    var when = at ? new Date(at).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }) : "";
    status.textContent = "✓ " + box.dataset.arrivedLabel + " " + when;
    box.classList.add("done");
    box.dataset.waiting = "0";
    var manual = document.getElementById("test-manual");
    if (manual) manual.remove();
    source.close();
  }

  source.onopen = function () {
    fetch(box.dataset.status, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s && s.tested) arrived(s.last_test_at); })
      .catch(function () { /* the stream still tells us */ });
  };
  source.addEventListener("bank_alert_test", function (e) {
    var ev = JSON.parse(e.data);
    if (String(ev.connection_id) === box.dataset.connection) arrived(ev.at);
  });
})();
