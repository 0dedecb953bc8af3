// Big-key amount entry: digits, 000 and backspace; shows 150.000 while typing.
(function () {
  var input = document.getElementById("amount");
  if (!input) return;
  function digits() { return input.value.replace(/\D/g, "").replace(/^0+/, ""); }
  function show(d) { input.value = d ? Number(d).toLocaleString("vi-VN") : ""; }
  document.querySelectorAll(".keypad .key").forEach(function (key) {
    key.addEventListener("click", function () {
      var d = digits(), k = key.dataset.key;
      if (k === "back") d = d.slice(0, -1);
      else if (d.length < 10) d = d + k;
      show(d.replace(/^0+/, ""));
    });
  });
  input.addEventListener("input", function () { show(digits()); });
})();
