// Lead dashboard: a visitor's inquiry arrives live through the merchant's event channel (the
// same Server-Sent Events stream that announces payments), with a short beep-free notice.
(function () {
  var box = document.getElementById("lead-live");
  if (!box || !window.EventSource) return;
  var source = new EventSource(box.dataset.url);
  source.addEventListener("expo_inquiry", function (e) {
    var ev = JSON.parse(e.data);
    var p = document.createElement("p");
    p.className = "flash";
    p.setAttribute("role", "status");
    var a = document.createElement("a");
    a.href = box.dataset.leadUrl + ev.inquiry_id + "/";
    a.textContent = box.dataset.newLabel + " " + ev.name + (ev.company ? " · " + ev.company : "") +
      ": " + ev.message;
    p.appendChild(a);
    box.prepend(p);
    if (navigator.vibrate) navigator.vibrate(200);
  });
})();
