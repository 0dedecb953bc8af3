// "Bán hàng": a cart built with big product buttons and a keypad, then one tap to be paid.
// A free amount: key it, then pay (or "Thêm" to add more). A product sold by weight: tap it,
// key the weight with the comma ("0,35"), then "Thêm" or pay. The cart survives a reload
// (localStorage) until the sale is sent; the server computes every amount again.
//
// One phone screen holds the whole sale (issue 16): its lines, with the one being keyed (a weight
// before "Thêm") shown as a line already; products with the stall's favourites first and, for a
// long catalogue, a search that ignores diacritics ("ca" finds "Cá thu"); quick amounts, one tap
// to put 50.000 đ on the display, so a one-amount sale is two taps (amount, QR). "Sửa" opens the
// lines with their −/+/✕ buttons.
//
// What the cart holds is always on the display ("Trong giỏ: 2 món 140.000 đ"), and a sale is
// sent with fetch (issue 16): only when the server has answered does the screen go to the sale.
// If it cannot be sent (no network), the cart stays, visibly, with a notice, and the next tap
// sends it again with the same idempotency key, so a sale that did reach the server is not made
// twice. The POS also keeps the shop's open sale (a QR still unpaid) and recent sales current as
// payments arrive on the trader-wide live channel (live.js).
(function () {
  var form = document.getElementById("pos");
  if (!form) return;
  var products = {};
  JSON.parse(document.getElementById("pos-products").textContent).forEach(function (p) {
    products[p.id] = p;
  });
  var storeKey = "choso-cart-" + form.dataset.merchant;
  var input = document.getElementById("cart-input");
  var entryEl = document.getElementById("pos-entry");
  var unitEl = document.getElementById("pos-unit");
  var whatEl = document.getElementById("pos-what");
  var lineTotalEl = document.getElementById("pos-line-total");
  var listEl = document.getElementById("cart-list");
  var totalEl = document.getElementById("pos-total");
  var comma = document.getElementById("key-comma");
  var thousands = document.getElementById("key-000");
  var summaryEl = document.getElementById("pos-cart-summary");
  var saleEl = document.getElementById("pos-sale");
  var editBtn = document.getElementById("pos-cart-edit");
  var failedEl = document.getElementById("pos-failed");
  var keyInput = form.querySelector("input[name=idempotency_key]");
  var pendingKey = storeKey + "-sending";
  var sending = false;
  var tried = null; // {cart, method} as last sent with keyInput's key, when that failed

  var cart = [];
  try { cart = JSON.parse(input.value || "[]"); } catch (e) { cart = []; }
  if (!cart.length) {
    try { cart = JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { cart = []; }
  }
  cart = cart.filter(function (l) { return l.price || products[l.product]; });
  // A sale sent before (this page, or one left after a failed send) and not known to be made:
  // while the cart is the same, sending it again uses the same key.
  function newKey() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  try {
    var stored = JSON.parse(localStorage.getItem(pendingKey) || "null");
    if (stored && stored.tried && stored.tried.cart === JSON.stringify(cart)) {
      keyInput.value = stored.key;
      tried = stored.tried;
    }
  } catch (e) { /* ignore */ }
  // Otherwise a key of our own: the page may be the service worker's copy of an earlier visit
  // (offline), whose key may already belong to a sale.
  if (!tried) keyInput.value = newKey();
  var entry = "";      // digits (and one comma for a weight) as keyed
  var weighing = null; // the product being weighed
  var fresh = false;   // the entry came from a quick amount: the next digit starts a new one

  function vnd(n) { return Math.round(n).toLocaleString("vi-VN") + " đ"; }
  function qtyNumber(text) { return Number(String(text).replace(",", ".")); }
  function lineAmount(l) {
    var price = l.product ? products[l.product].price : l.price;
    // Half up to a whole đồng, as the server does (in thousandths to stay exact).
    var milli = Math.round(qtyNumber(l.qty || 1) * 1000);
    return Math.floor((price * milli + 500) / 1000);
  }
  function save() {
    input.value = JSON.stringify(cart);
    try { localStorage.setItem(storeKey, input.value); } catch (e) { /* private mode */ }
  }

  function renderEntry() {
    if (weighing) {
      whatEl.textContent = weighing.name + " · " + vnd(weighing.price) + "/" + weighing.unit;
      entryEl.textContent = entry || "0";
      unitEl.textContent = weighing.unit;
      var q = qtyNumber(entry || "0");
      lineTotalEl.textContent = q > 0 ? "= " + vnd(lineAmount({ product: weighing.id, qty: entry })) : form.dataset.weightHint + " " + weighing.unit;
    } else {
      whatEl.textContent = entry ? form.dataset.freeLabel : form.dataset.amountHint;
      entryEl.textContent = entry ? Number(entry).toLocaleString("vi-VN") : "0";
      unitEl.textContent = "đ";
      lineTotalEl.textContent = "";
    }
    comma.disabled = !weighing;
    thousands.disabled = !!weighing;
  }

  function renderCart() {
    listEl.innerHTML = "";
    var total = 0;
    if (!cart.length && !pendingAmount()) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = form.dataset.empty;
      listEl.appendChild(empty);
    }
    cart.forEach(function (l, i) {
      var p = l.product ? products[l.product] : null;
      var amount = lineAmount(l);
      total += amount;
      var li = document.createElement("li");
      li.className = "cart-line";
      var label = document.createElement("span");
      label.textContent = p ? p.name + " · " + String(l.qty).replace(".", ",") + " " + p.unit : (l.name || form.dataset.freeLabel);
      var price = document.createElement("span");
      price.className = "price";
      price.textContent = vnd(amount);
      li.appendChild(label);
      li.appendChild(price);
      if (p && !p.weight) {
        [["−", -1], ["+", 1]].forEach(function (b) {
          var btn = document.createElement("button");
          btn.type = "button";
          btn.className = "step";
          btn.textContent = b[0];
          btn.setAttribute("aria-label", b[0] + " " + p.name);
          btn.addEventListener("click", function () {
            l.qty = Number(l.qty) + b[1];
            if (l.qty <= 0) cart.splice(i, 1);
            changed();
          });
          li.appendChild(btn);
        });
      }
      var del = document.createElement("button");
      del.type = "button";
      del.className = "step remove";
      del.textContent = "✕";
      del.setAttribute("aria-label", form.dataset.removeLabel);
      del.addEventListener("click", function () { cart.splice(i, 1); changed(); });
      li.appendChild(del);
      listEl.appendChild(li);
    });
    var typing = pendingLine();
    if (typing) listEl.appendChild(typing);
    listEl.scrollTop = listEl.scrollHeight; // the newest line, and the one being keyed, in view
    totalEl.textContent = vnd(total + pendingAmount());
    summaryEl.hidden = !cart.length;
    editBtn.hidden = !cart.length;
    if (!cart.length) editing(false);
    document.getElementById("pos-cart-count").textContent = form.dataset.cartCount.replace("{n}", cart.length);
    document.getElementById("pos-cart-total").textContent = vnd(total);
  }

  // The line on the display, before "Thêm": part of the sale already (its amount is in the
  // total, paying adds it), so it is listed with the others, marked as being keyed.
  function pendingLine() {
    var amount = pendingAmount();
    if (!amount) return null;
    var li = document.createElement("li");
    li.className = "cart-line pending";
    li.id = "pos-pending-line";
    var label = document.createElement("span");
    label.textContent = weighing
      ? weighing.name + " · " + entry + " " + weighing.unit
      : form.dataset.freeLabel;
    var note = document.createElement("small");
    note.textContent = " (" + form.dataset.typingLabel + ")";
    label.appendChild(note);
    var price = document.createElement("span");
    price.className = "price";
    price.textContent = vnd(amount);
    li.appendChild(label);
    li.appendChild(price);
    return li;
  }

  // "Sửa": the lines open with their −/+/✕ buttons and "Xóa giỏ"; "Xong" closes them.
  function editing(on) {
    saleEl.classList.toggle("editing", on);
    editBtn.setAttribute("aria-expanded", on ? "true" : "false");
    editBtn.textContent = on ? form.dataset.doneLabel : form.dataset.editLabel;
  }
  editBtn.addEventListener("click", function () {
    editing(!saleEl.classList.contains("editing"));
  });

  function pendingAmount() {
    if (weighing) return qtyNumber(entry || "0") > 0 ? lineAmount({ product: weighing.id, qty: entry }) : 0;
    return entry ? Number(entry) : 0;
  }

  function changed() { save(); renderEntry(); renderCart(); }

  // What is on the display goes into the cart ("Thêm", or implicitly on paying).
  function addEntry() {
    if (weighing) {
      if (qtyNumber(entry || "0") > 0) cart.push({ product: weighing.id, qty: entry });
    } else if (entry && Number(entry) > 0) {
      cart.push({ price: Number(entry) });
    }
    entry = "";
    weighing = null;
    fresh = false;
    changed();
  }

  // A quick amount (10.000, 50.000 …) goes on the display as if keyed: QR then sells it, "Thêm"
  // adds it. A weight being keyed is added first.
  function quickAmount(amount) {
    if (weighing) addEntry();
    entry = String(amount);
    fresh = true;
    renderEntry();
    renderCart();
  }
  document.querySelectorAll(".pos-amounts .amount-chip").forEach(function (chip) {
    chip.addEventListener("click", function () { quickAmount(Number(chip.dataset.amount)); });
  });

  // The search over the product keys, diacritics and case ignored ("ca" finds "Cá thu", "Cà
  // chua"): each word of the query starts a word of the name.
  function searchKey(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase().replace(/\s+/g, " ").trim();
  }
  function filterProducts(query) {
    var words = searchKey(query).split(" ").filter(Boolean);
    var shown = 0;
    document.querySelectorAll(".product-key").forEach(function (btn) {
      var name = " " + searchKey(btn.dataset.search || btn.textContent);
      var match = words.every(function (w) { return name.indexOf(" " + w) >= 0; });
      btn.hidden = !match;
      if (match) shown += 1;
    });
    var found = document.getElementById("pos-found");
    if (found) found.textContent = words.length && !shown ? found.dataset.none : "";
    var strip = document.getElementById("pos-products-strip");
    if (strip) strip.scrollLeft = 0;
  }
  var search = document.getElementById("pos-search");
  if (search) {
    search.addEventListener("input", function () { filterProducts(search.value); });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); search.blur(); } // not a sale
    });
  }

  document.querySelectorAll(".keypad .key[data-key]").forEach(function (key) {
    key.addEventListener("click", function () {
      var k = key.dataset.key;
      if (fresh && k !== "back" && k !== ",") entry = "";
      fresh = false;
      if (k === "back") entry = entry.slice(0, -1);
      else if (k === ",") { if (weighing && entry.indexOf(",") < 0) entry = (entry || "0") + ","; }
      else if (weighing) {
        var decimals = entry.indexOf(",") < 0 ? 0 : entry.length - entry.indexOf(",") - 1;
        if (decimals < 3 && entry.replace(",", "").length < 7) entry += k;
      } else if (entry.length < 10) entry = (entry + k).replace(/^0+/, "");
      renderEntry();
      renderCart();
    });
  });
  document.getElementById("key-add").addEventListener("click", addEntry);

  document.querySelectorAll(".product-key").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var p = products[btn.dataset.product];
      if (p.weight) {
        if (entry) addEntry();
        weighing = p;
        entry = "";
        fresh = false;
        renderEntry();
        renderCart();
        return;
      }
      var found = cart.filter(function (l) { return l.product === p.id; })[0];
      if (found) found.qty = Number(found.qty) + 1;
      else cart.push({ product: p.id, qty: 1 });
      changed();
    });
  });

  document.getElementById("pos-cart-clear").addEventListener("click", function () {
    if (!window.confirm(form.dataset.clearConfirm)) return;
    cart = [];
    entry = "";
    weighing = null;
    fresh = false;
    failedEl.hidden = true;
    changed();
  });

  var payButtons = form.querySelectorAll("button[type=submit]");
  var qrAllowed = !document.getElementById("pay-qr").disabled;
  function busy(on) {
    sending = on;
    payButtons.forEach(function (b) { b.disabled = on || (b.id === "pay-qr" && !qrAllowed); });
  }
  function failed(text) {
    busy(false);
    failedEl.textContent = text;
    failedEl.hidden = false;
    failedEl.scrollIntoView({ block: "nearest" });
    renderCart();
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (sending) return; // one tap, one sale
    addEntry();
    if (!cart.length) return;
    var method = e.submitter && e.submitter.value ? e.submitter.value : "bank_qr";
    var attempt = { cart: input.value, method: method };
    // Another cart or another way to pay than the failed send: another sale, another key.
    if (tried && (tried.cart !== attempt.cart || tried.method !== attempt.method)) keyInput.value = newKey();
    tried = attempt;
    try { localStorage.setItem(pendingKey, JSON.stringify({ key: keyInput.value, tried: tried })); } catch (err) { /* ignore */ }
    var body = new FormData(form);
    body.set("method", method);
    busy(true);
    failedEl.hidden = true;
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.ok && r.redirected) {
        // The sale is made (or was made by an earlier send with this key): its page answers.
        cart = [];
        tried = null;
        save();
        try { localStorage.removeItem(pendingKey); } catch (err) { /* ignore */ }
        window.location.assign(r.url);
        return;
      }
      return r.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var error = doc.getElementById("pos-error");
        failed(error ? error.textContent : failedEl.dataset.failed);
      });
    }).catch(function () {
      // No answer: cash is kept on the phone and sent later with this key (offline-queue.js);
      // QR and e-wallet need the network, so the cart stays.
      if (method === "cash" && window.chosoQueue) { queueCash(attempt); return; }
      failed(method === "cash" ? failedEl.dataset.offline : failedEl.dataset.needsNetwork);
      // A send whose answer was lost may have made the sale: if the network is back, it shows
      // as the open sale.
      refreshSales();
    });
  });

  // A cash sale with no answer (issue 16): the notes are in the drawer, so the sale is queued
  // with its key, cart as sent, total and time, and the cart is free for the next shopper.
  function queueCash(attempt) {
    var total = JSON.parse(attempt.cart).reduce(function (sum, l) { return sum + lineAmount(l); }, 0);
    window.chosoQueue.add({
      key: keyInput.value, url: form.action, merchant: Number(form.dataset.merchant),
      cart: attempt.cart, method: "cash", total: total, at: Date.now(),
    });
    cart = [];
    tried = null;
    save();
    try { localStorage.removeItem(pendingKey); } catch (err) { /* ignore */ }
    keyInput.value = newKey();
    busy(false);
    renderEntry();
    renderCart();
  }

  // The open sale and recent sales, as the server has them now (a GET of this very page).
  function refreshSales() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["open-sale-box", "recent-box"].forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.adoptNode(fresh));
        });
      })
      .catch(function () { /* offline: the next payment or "online" tries again */ });
  }
  document.addEventListener("choso:payment", function (e) {
    var open = document.getElementById("open-sale");
    if (open && e.detail && String(e.detail.intent_id) === open.dataset.intent) open.remove();
    refreshSales();
  });
  window.addEventListener("online", refreshSales);
  // Back to this screen from the sale's page (the browser's back/forward cache restores it as
  // it was): the cart as stored now (emptied once the sale was made), a fresh key, the buttons
  // usable again, and the open sale that was just made.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    try { cart = JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (err) { cart = []; }
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(pendingKey) || "null"); } catch (err) { stored = null; }
    if (stored && stored.tried && stored.tried.cart === JSON.stringify(cart)) {
      keyInput.value = stored.key;
      tried = stored.tried;
    } else {
      keyInput.value = newKey();
      tried = null;
    }
    entry = "";
    weighing = null;
    busy(false);
    changed();
    refreshSales();
  });

  save();
  renderEntry();
  renderCart();
})();
