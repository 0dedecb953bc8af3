// A cash sale: the trader keys or taps what the shopper handed over ("khách đưa") and sees the
// change to give back ("tiền thừa"), big. Whole đồng only; less than the total is refused with
// the shortfall. Shown on the screen only: the cash record itself is the order's total.
(function () {
  var box = document.getElementById("change-box");
  if (!box) return;
  var total = parseInt(box.dataset.total, 10) || 0;
  var input = document.getElementById("tendered");
  var notes = document.getElementById("quick-notes");
  var error = document.getElementById("tendered-error");
  var out = document.getElementById("change-out");
  var change = document.getElementById("change");

  function vnd(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " đ";
  }
  function digits(text) {
    return text.replace(/\D/g, "").replace(/^0+(?=\d)/, "");
  }

  function show() {
    var text = digits(input.value);
    if (text !== input.value.replace(/[.\s]/g, "")) input.value = text;
    if (!text) { error.hidden = true; out.hidden = true; return; }
    var given = parseInt(text, 10);
    if (given < total) {
      error.textContent = box.dataset.shortLabel.replace("{amount}", vnd(total - given));
      error.hidden = false;
      out.hidden = true;
      return;
    }
    error.hidden = true;
    change.textContent = vnd(given - total);
    out.hidden = false;
  }

  // The exact amount, then the next round of each common note above the total.
  var amounts = [total];
  [10000, 50000, 100000, 200000, 500000].forEach(function (note) {
    var up = Math.ceil(total / note) * note;
    if (up === total) up += note;
    if (amounts.indexOf(up) < 0) amounts.push(up);
  });
  amounts.sort(function (a, b) { return a - b; });
  amounts.forEach(function (amount) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.dataset.amount = String(amount);
    b.textContent = amount === total ? box.dataset.exactLabel : vnd(amount);
    b.addEventListener("click", function () {
      input.value = String(amount);
      show();
    });
    notes.appendChild(b);
  });
  input.addEventListener("input", show);
})();
