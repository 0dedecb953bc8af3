// The shopper's payment page: "Chép" puts the account number, the amount (digits only) or the
// transfer content on the clipboard, and says so ("Đã chép") on the button and to a screen reader.
// navigator.clipboard needs a secure context; elsewhere, a hidden textarea and execCommand.
(function () {
  var box = document.getElementById("copy-fields");
  if (!box) return;
  var status = document.getElementById("copied");
  var timers = {};

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallback(text); });
    }
    return fallback(text);
  }

  box.querySelectorAll("button.copy").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      copy(button.dataset.copy).then(function () {
        button.textContent = box.dataset.copiedLabel;
        button.classList.add("done");
        status.textContent = box.dataset.copiedLabel + ": " + button.dataset.copy;
        clearTimeout(timers[button.id]);
        timers[button.id] = setTimeout(function () {
          button.textContent = label;
          button.classList.remove("done");
        }, 2500);
      }, function () {
        status.textContent = box.dataset.failedLabel;
      });
    });
  });
})();
