// The trader-wide live channel (issue 16): on every page of a trader's, each payment to any of
// their shops is said aloud ("Đã nhận … đồng") and shown as a toast at the top of the screen, so
// a shopper who pays after the trader left the QR screen is still heard and seen. The page may
// listen too: a "choso:payment" DOM event carries each payment (the POS refreshes its open sale
// and recent sales with it), and parts marked data-live-refresh are fetched again.
//
// Pages that already announce payments themselves do not do it twice: trader home (#announce,
// every shop: no trader-wide stream there) and the QR screens (#collect: its own shop's payments
// are collect.js's, the trader's other shops' are ours).
(function () {
  var box = document.getElementById("live");
  // Trader home listens to every shop already (announce.js): one stream is enough.
  if (!box || !window.EventSource || document.getElementById("announce")) return;
  var collect = document.getElementById("collect");
  var collectShop = collect ? Number(collect.dataset.merchant || 0) : 0;

  function say(text) {
    if (!text || !("speechSynthesis" in window)) return;
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "vi-VN";
    window.speechSynthesis.speak(u);
  }

  function toast(ev) {
    var p = document.createElement("p");
    var warn = ev.flag === "small" || ev.flag === "underpaid";
    p.className = "toast" + (warn ? " warn" : "");
    p.setAttribute("role", "status");
    var when = ev.at ? new Date(ev.at).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }) : "";
    var text = document.createElement("span");
    // Written with figures, in the page's language (the voice stays Vietnamese words).
    var amount = Number(ev.amount).toLocaleString("vi-VN") + " đ";
    text.textContent = "✓ " + box.dataset.receivedLabel + " " + amount + (when ? " · " + when : "") +
      (ev.flag === "small" ? " · " + box.dataset.smallLabel : "");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link toast-close";
    close.textContent = "✕";
    close.setAttribute("aria-label", box.dataset.closeLabel);
    close.addEventListener("click", function () { p.remove(); });
    p.appendChild(text);
    p.appendChild(close);
    box.prepend(p);
    setTimeout(function () { p.remove(); }, 12000);
  }

  // Parts of the page marked data-live-refresh (with an id) are fetched again after a payment:
  // an order list shows the sale paid without a reload.
  function refreshMarked() {
    var marked = document.querySelectorAll("[data-live-refresh][id]");
    if (!marked.length) return;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        marked.forEach(function (old) {
          var fresh = doc.getElementById(old.id);
          if (fresh) old.replaceWith(document.adoptNode(fresh));
        });
      })
      .catch(function () { /* offline: the list is refreshed with the next payment */ });
  }

  var seen = {};
  function payment(e) {
    var ev = JSON.parse(e.data);
    // One payment, one announcement (a reconnecting stream may not repeat it, but be sure).
    var id = ev.notification_id || ev.intent_id;
    if (id && seen[e.type + id]) return;
    if (id) seen[e.type + id] = true;
    document.dispatchEvent(new CustomEvent("choso:payment", { detail: ev }));
    refreshMarked();
    if (collectShop && ev.merchant_id === collectShop) return;
    toast(ev);
    say(ev.spoken);
  }

  var source = null;
  function listen() {
    source = new EventSource(box.dataset.url);
    // Subscribed on the server before its first byte: from here on nothing is missed.
    source.onopen = function () { box.dataset.state = "open"; };
    source.onerror = function () { box.dataset.state = "connecting"; };
    ["payment_succeeded", "payment_received"].forEach(function (type) {
      source.addEventListener(type, payment);
    });
  }
  listen();
  // Back from another page (bfcache): the stream may have been cut; a fresh one takes over.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && source.readyState === EventSource.CLOSED) listen();
  });
})();
