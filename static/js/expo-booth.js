// Booth page: the 360° viewer (Pannellum, from npm, served by Django staticfiles) and the video
// are fetched only when the visitor taps "Xem 360°" / "Xem video": a 3G visitor who does not
// tap pays nothing for them.
(function () {
  function load(tag, attrs) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      Object.keys(attrs).forEach(function (k) { el[k] = attrs[k]; });
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }
  var pano = document.getElementById("pano-open");
  if (pano) {
    pano.addEventListener("click", function () {
      var box = document.getElementById("pano");
      box.hidden = false;
      if (box.dataset.ready) { box.scrollIntoView({ behavior: "smooth", block: "center" }); return; }
      box.dataset.ready = "1";
      pano.disabled = true;
      Promise.all([
        load("link", { rel: "stylesheet", href: pano.dataset.css }),
        window.pannellum ? Promise.resolve() : load("script", { src: pano.dataset.js }),
      ]).then(function () {
        window.pannellum.viewer(box, {
          type: "equirectangular",
          panorama: pano.dataset.pano,
          autoLoad: true,
          showZoomCtrl: false,
          compass: false,
        });
        box.scrollIntoView({ behavior: "smooth", block: "center" });
      }).catch(function () {
        box.textContent = pano.dataset.error;
        delete box.dataset.ready;
      }).finally(function () { pano.disabled = false; });
    });
  }
  var video = document.getElementById("video-open");
  if (video) {
    video.addEventListener("click", function () {
      var box = document.getElementById("video");
      if (!box.firstChild) {
        var frame = document.createElement("iframe");
        frame.src = video.dataset.src;
        frame.title = video.dataset.title;
        frame.allow = "encrypted-media; picture-in-picture";
        frame.allowFullscreen = true;
        frame.loading = "lazy";
        box.appendChild(frame);
      }
      box.hidden = false;
    });
  }
})();
