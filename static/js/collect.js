// "Thu tiền": wait for the bank's confirmation over Server-Sent Events, then turn green and say
// the amount aloud in Vietnamese. On every (re)connection, ask the server for the intent's state,
// so a payment that settled while the phone was offline is still shown.
(function () {
  var box = document.getElementById("collect");
  if (!box) return;
  var intentId = Number(box.dataset.intentId);
  var done = box.dataset.status === "succeeded";

  function say(text) {
    if (!text || !("speechSynthesis" in window)) return;
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "vi-VN";
    u.rate = 0.95;
    window.speechSynthesis.speak(u);
  }
  function vnd(n) { return Number(n).toLocaleString("vi-VN") + " đ"; }

  function paid(ev) {
    if (done) return;
    done = true;
    box.classList.add("paid");
    box.querySelectorAll(".while-waiting").forEach(function (el) { el.remove(); });
    var state = document.getElementById("state");
    state.innerHTML = "";
    var big = document.createElement("p");
    big.className = "big-ok";
    big.textContent = "✓ " + box.dataset.paidLabel;
    var detail = document.createElement("p");
    var when = ev.at ? new Date(ev.at).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" }) : "";
    detail.innerHTML = '<span class="price"></span> · <span class="when"></span><br><span class="ref"></span>';
    detail.querySelector(".price").textContent = vnd(ev.amount);
    detail.querySelector(".when").textContent = when;
    detail.querySelector(".ref").textContent = ev.bank_reference || "";
    state.appendChild(big);
    state.appendChild(detail);
    say(ev.spoken);
  }

  function warn(text) {
    var w = document.getElementById("warning");
    w.hidden = false;
    w.textContent = text;
  }

  function check() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (i) {
        if (i && i.status === "succeeded") {
          paid({ amount: i.amount_received, at: i.succeeded_at, bank_reference: i.bank_reference,
                 spoken: null });
        }
      })
      .catch(function () {});
  }

  var source = new EventSource(box.dataset.eventsUrl);
  source.onopen = check;
  source.addEventListener("payment_succeeded", function (e) {
    var ev = JSON.parse(e.data);
    if (ev.intent_id === intentId) paid(ev);
    else say(ev.spoken);
  });
  source.addEventListener("payment_failed", function (e) {
    var ev = JSON.parse(e.data);
    if (ev.intent_id === intentId) warn(box.dataset.failedLabel);
  });
  source.addEventListener("payment_received", function (e) {
    var ev = JSON.parse(e.data);
    if (ev.intent_id === intentId && ev.flag === "underpaid") {
      warn(box.dataset.underpaidLabel + " " + vnd(ev.amount) + " / " + vnd(ev.expected_amount));
    } else {
      say(ev.spoken);
    }
  });
})();
