// Buttons and links with data-confirm="…" ask before they act (instead of inline onclick=,
// which the Content-Security-Policy forbids).
(function () {
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.dataset.confirm)) event.preventDefault();
  });
})();
