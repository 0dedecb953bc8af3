// Waiting for the payment or the next step: ask the server every few seconds, reload on news.
(function () {
  var box = document.getElementById("shop-order");
  if (!box || box.dataset.fulfilment === "completed" || box.dataset.fulfilment === "canceled") return;
  if (box.dataset.status === "canceled" || box.dataset.status === "refunded") return;
  setInterval(function () {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && (s.status !== box.dataset.status || s.fulfilment_status !== box.dataset.fulfilment ||
                  String(s.events) !== box.dataset.events)) window.location.reload();
      }).catch(function () {});
  }, 4000);
})();
