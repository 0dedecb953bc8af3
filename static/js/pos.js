// "Bán hàng": a cart built with big product buttons and a keypad, then one tap to be paid.
// A free amount: key it, then pay (or "Thêm" to add more). A product sold by weight: tap it,
// key the weight with the comma ("0,35"), then "Thêm" or pay. The cart survives a reload
// (localStorage) until the sale is sent; the server computes every amount again.
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

  var cart = [];
  try { cart = JSON.parse(input.value || "[]"); } catch (e) { cart = []; }
  if (!cart.length) {
    try { cart = JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { cart = []; }
  }
  cart = cart.filter(function (l) { return l.price || products[l.product]; });
  var entry = "";      // digits (and one comma for a weight) as keyed
  var weighing = null; // the product being weighed

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
      whatEl.textContent = form.dataset.amountHint;
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
    if (!cart.length) {
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
    totalEl.textContent = vnd(total + pendingAmount());
  }

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
    changed();
  }

  document.querySelectorAll(".keypad .key[data-key]").forEach(function (key) {
    key.addEventListener("click", function () {
      var k = key.dataset.key;
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
        if (weighing && entry) addEntry();
        weighing = p;
        entry = "";
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

  form.addEventListener("submit", function (e) {
    addEntry();
    if (!cart.length) { e.preventDefault(); return; }
    // The cart stays stored until the sale's page has loaded (order.js clears it there).
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0); // one tap, one sale
    });
  });

  save();
  renderEntry();
  renderCart();
})();
