// A sale's page: the sale exists on the server now, so the stored POS cart is done with; when the
// payment arrives (collect.js turns the screen green and speaks), reload to show the receipt QR:
// only once the server answers (net.js), never into a dead network's error page.
(function () {
  var box = document.getElementById("collect");
  var page = document.getElementById("order-page");
  if (!page) return;
  try { localStorage.removeItem("choso-cart-" + page.dataset.merchant); } catch (e) { /* ignore */ }
  if (!box || box.dataset.status === "succeeded") return;
  var observer = new MutationObserver(function () {
    if (box.classList.contains("paid")) {
      observer.disconnect();
      setTimeout(function () {
        if (window.chosoNet) window.chosoNet.go();
        else window.location.reload();
      }, 2500);
    }
  });
  observer.observe(box, { attributes: true, attributeFilter: ["class"] });
})();
