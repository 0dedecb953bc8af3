// Pickup or delivery: show the fields that apply and the total with the delivery fee.
(function () {
  var form = document.getElementById("checkout-form"), out = document.getElementById("checkout-total");
  var hidden = document.getElementById("expected_total");
  if (!form || !out || !hidden) return;
  function update() {
    var delivery = form.querySelector("input[name=fulfilment]:checked").value === "delivery";
    var total = Number(out.dataset.goods) + (delivery ? Number(out.dataset.fee) : 0);
    out.textContent = total.toLocaleString("vi-VN") + " đ";
    hidden.value = total;
    document.getElementById("pickup-field").hidden = delivery;
    var address = document.getElementById("address-field");
    if (address) address.hidden = !delivery;
  }
  form.querySelectorAll("input[name=fulfilment]").forEach(function (r) { r.addEventListener("change", update); });
  update();
})();
