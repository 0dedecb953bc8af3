// Cash sales made without a network (issue 16). The POS (pos.js) hands a cash sale it could not
// send to window.chosoQueue.add(); the sale waits in localStorage with its idempotency key, its
// cart exactly as it would have been sent, its total and the phone's time of the sale, and the
// cart is free for the next shopper. The queue is sent when the network is back (the "online"
// event, any trader page's load, every 30 s while something waits), one sale after the other,
// each POSTed to its POS with its own key: the server makes a sale once per key, so a sync cut
// halfway and sent again, or sent by two tabs at once, records each sale exactly once.
//
// A sale the server refuses (4xx, e.g. a product removed meanwhile) is kept and shown as needing
// attention with the server's reason, never dropped; the trader may remove it after reading.
// Waiting (409: another tab is sending it), a server error, a sign-in page or no answer: the sale
// stays and is tried again later. On the POS, #offline-queue shows "chưa đồng bộ: N".
(function () {
  var STORE = "choso-offline-sales";
  var RETRY_MS = 30000;
  var TRANSIENT = [408, 409, 425, 429];
  var syncing = null;

  function read() {
    try {
      var list = JSON.parse(localStorage.getItem(STORE) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) { return []; }
  }
  function write(list) {
    try { localStorage.setItem(STORE, JSON.stringify(list)); } catch (e) { /* full: kept in memory only */ }
    render();
  }
  function update(key, change) {
    write(read().map(function (s) { return s.key === key ? change(s) : s; }).filter(Boolean));
  }
  function waiting() { return read().filter(function (s) { return !s.refused; }); }

  function add(sale) {
    var list = read();
    if (!list.some(function (s) { return s.key === sale.key; })) list.push(sale);
    write(list);
    setTimeout(sync, 0);
  }

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // One sale: resolves once it is settled here (made, or refused and kept); rejects when it
  // must be tried again later, which stops this round.
  function send(sale) {
    var body = new FormData();
    body.set("csrfmiddlewaretoken", csrf());
    body.set("idempotency_key", sale.key);
    body.set("cart", sale.cart);
    body.set("method", "cash");
    body.set("sold_at", String(sale.at));
    return fetch(sale.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf() },
    }).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (json && r.ok) {
        update(sale.key, function () { return null; });
        return;
      }
      if (r.status === 404 && !json) { // the shop is not this trader's (or no longer exists)
        update(sale.key, function (s) { s.refused = true; s.error = "404"; return s; });
        return;
      }
      if (json && r.status >= 400 && r.status < 500 && TRANSIENT.indexOf(r.status) < 0) {
        return r.json().then(function (answer) {
          var message = answer && answer.error && answer.error.message;
          update(sale.key, function (s) { s.refused = true; s.error = message || String(r.status); return s; });
        });
      }
      throw new Error("later: " + r.status);
    });
  }

  function sync() {
    if (syncing) return syncing;
    var list = waiting();
    if (!list.length || navigator.onLine === false) return Promise.resolve();
    syncing = list.reduce(function (done, sale) {
      return done.then(function () { return send(sale); });
    }, Promise.resolve()).catch(function () { /* the rest waits for the next round */ }).then(function () {
      syncing = null;
      render();
    });
    return syncing;
  }

  function vnd(n) { return Math.round(n).toLocaleString("vi-VN") + " đ"; }

  function render() {
    var box = document.getElementById("offline-queue");
    if (!box) return;
    var list = read();
    var pending = list.filter(function (s) { return !s.refused; });
    var refused = list.filter(function (s) { return s.refused; });
    var count = document.getElementById("offline-count");
    count.textContent = box.dataset.waiting.replace("{n}", pending.length);
    count.hidden = !pending.length;
    var problems = document.getElementById("offline-refused");
    problems.innerHTML = "";
    refused.forEach(function (s) {
      var li = document.createElement("li");
      var text = document.createElement("span");
      var when = new Date(s.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
      text.textContent = box.dataset.refused + " " + when + " · " + vnd(s.total) + ": " + s.error;
      var drop = document.createElement("button");
      drop.type = "button";
      drop.className = "secondary";
      drop.textContent = box.dataset.dropLabel;
      drop.addEventListener("click", function () {
        if (window.confirm(box.dataset.dropConfirm)) update(s.key, function () { return null; });
      });
      li.appendChild(text);
      li.appendChild(drop);
      problems.appendChild(li);
    });
    box.hidden = !list.length;
  }

  window.addEventListener("online", function () { sync(); });
  window.addEventListener("storage", function (e) { if (e.key === STORE) render(); });
  setInterval(function () { if (waiting().length) sync(); }, RETRY_MS);

  window.chosoQueue = {
    add: add,
    sync: sync,
    count: function () { return waiting().length; },
    list: read,
  };
  render();
  sync();
})();
