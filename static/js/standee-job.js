// Staff page "Bảng QR các sạp": poll the print job's status every second until it ends.
(function () {
  "use strict";
  var box = document.getElementById("standee-job");
  if (!box || box.dataset.finished === "1") return;
  var badge = { queued: "pending", running: "pending", done: "approved", failed: "rejected" };

  function show(job) {
    var status = document.getElementById("job-status");
    status.textContent = job.status_display;
    status.className = "badge " + (badge[job.status] || "");
    document.getElementById("job-count").textContent = job.progress_text;
    var bar = document.getElementById("job-progress");
    bar.max = job.total || 1;
    bar.value = job.done;
    if (job.error) {
      var error = document.getElementById("job-error");
      error.textContent = job.error;
      error.hidden = false;
    }
    if (job.pdf_url) {
      var download = document.getElementById("job-download");
      download.querySelector("a").href = job.pdf_url;
      download.hidden = false;
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (job) { show(job); if (!job.finished) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
