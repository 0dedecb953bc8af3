// Trader home: say every payment that reaches any of my shops aloud, walk-ins to the stall's
// printed QR included, and show it at the top of the page.
(function () {
  var box = document.getElementById("announce");
  if (!box || !window.EventSource) return;
  function say(text) {
    if (!text || !("speechSynthesis" in window)) return;
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "vi-VN";
    window.speechSynthesis.speak(u);
  }
  function show(ev) {
    var p = document.createElement("p");
    p.className = "flash" + (ev.flag === "small" || ev.flag === "underpaid" ? " error" : "");
    p.setAttribute("role", "status");
    p.textContent = ev.spoken + " · " + new Date(ev.at).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }) +
      (ev.flag === "small" ? " · " + box.dataset.smallLabel : "");
    box.prepend(p);
    say(ev.spoken);
  }
  box.dataset.urls.split(" ").filter(Boolean).forEach(function (url) {
    var source = new EventSource(url);
    ["payment_succeeded", "payment_received"].forEach(function (type) {
      source.addEventListener(type, function (e) { show(JSON.parse(e.data)); });
    });
  });
})();
