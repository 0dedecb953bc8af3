// "Đơn online": new paid orders arrive live on the trader's phone. The page listens to the
// merchant's Server-Sent Events stream (the same one "Thu tiền" uses); on an `online_order` event
// it beeps (Web Audio, no sound file) and reloads the list from the server. On every
// (re)connection it reloads the list too, so an order paid while the phone was offline shows up.
(function () {
  var root = document.getElementById("online-orders");
  if (!root) return;
  var queue = document.getElementById("queue");
  var badge = document.getElementById("new-badge");
  var liveState = document.getElementById("live-state");
  var toggle = document.getElementById("sound-toggle");
  var audio = null;
  var soundOn = false;
  var loading = null;
  var again = false;

  // Browsers only let a page make sound after a tap: the button (or any first tap) unlocks it.
  function unlock() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    soundOn = true;
    toggle.setAttribute("aria-pressed", "true");
    toggle.textContent = "✓ " + root.dataset.soundOn;
    try { localStorage.setItem("choso-online-sound", "1"); } catch (e) { /* private mode */ }
  }
  toggle.addEventListener("click", function () { unlock(); beep(); });
  document.addEventListener("pointerdown", function once() {
    document.removeEventListener("pointerdown", once);
    try { if (localStorage.getItem("choso-online-sound") === "1") unlock(); } catch (e) { /* */ }
  });

  // Three short rising tones: heard over a market's noise, not mistaken for a payment.
  function beep() {
    if (!audio || !soundOn) return;
    var t = audio.currentTime;
    [880, 1175, 1568].forEach(function (freq, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.25, t + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.18);
      osc.stop(t + i * 0.18 + 0.17);
    });
    if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
  }

  function showCount(n) {
    badge.textContent = String(n);
    badge.hidden = n === 0;
    document.title = (n ? "(" + n + ") " : "") + root.dataset.title;
  }

  // Do not redraw the list under a trader typing a cancel reason: after they leave the field.
  var deferred = false;
  queue.addEventListener("focusout", function () {
    if (deferred) { deferred = false; setTimeout(reload, 300); }
  });
  function typing() {
    var el = document.activeElement;
    return el && queue.contains(el) && (el.tagName === "INPUT" || el.tagName === "TEXTAREA");
  }

  // One request at a time; an event during a request asks for one more afterwards.
  function reload(highlightId) {
    if (loading) { again = true; return loading; }
    loading = fetch(root.dataset.listUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        var data = fresh.querySelector("#queue-data");
        showCount(data ? Number(data.dataset.newCount || 0) : 0);
        if (typing()) { deferred = true; return; }
        queue.replaceChildren.apply(queue, Array.prototype.slice.call(fresh.childNodes));
        if (highlightId) {
          var card = document.getElementById("order-" + highlightId);
          if (card) card.classList.add("arrived");
        }
      })
      .catch(function () {})
      .then(function () {
        loading = null;
        if (again) { again = false; reload(); }
      });
    return loading;
  }

  // The step buttons post in the background: no page load, so the stream and the unlocked
  // sound stay on. Without fetch (or on a network error) the form posts the ordinary way.
  queue.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-live") || !window.fetch || !window.FormData) return;
    if (!form.checkValidity()) return;
    e.preventDefault();
    var data = new FormData(form);
    if (e.submitter && e.submitter.name) data.append(e.submitter.name, e.submitter.value);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.text();
      })
      .then(function (html) {
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        var data = fresh.querySelector("#queue-data");
        showCount(data ? Number(data.dataset.newCount || 0) : 0);
        queue.replaceChildren.apply(queue, Array.prototype.slice.call(fresh.childNodes));
        var flash = queue.querySelector(".flash");
        if (flash) flash.scrollIntoView({ block: "nearest" });
      })
      .catch(function () {
        if (e.submitter && e.submitter.name) {
          var chosen = document.createElement("input");
          chosen.type = "hidden";
          chosen.name = e.submitter.name;
          chosen.value = e.submitter.value;
          form.appendChild(chosen);
        }
        form.submit();
      });
  });

  if (!window.EventSource) return;
  var source = new EventSource(root.dataset.eventsUrl);
  var opened = false;
  source.onopen = function () {
    liveState.textContent = "";
    if (opened) reload(); // a reconnection: catch up on what came while we were away
    opened = true;
  };
  source.onerror = function () { liveState.textContent = root.dataset.offline; };
  source.addEventListener("online_order", function (e) {
    var ev = {};
    try { ev = JSON.parse(e.data); } catch (err) { /* an empty event still means "look" */ }
    beep();
    liveState.textContent = root.dataset.arrived;
    reload(ev.order_id);
  });
})();
