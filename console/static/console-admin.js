/* Console behaviour wired without inline event handlers, so the Content-Security-Policy can
   forbid them: bulk actions, delete confirmations and the filter menu. */
document.addEventListener("click", function (event) {
  var action = event.target.closest("[data-model-action]");
  if (action) {
    event.preventDefault();
    window.modelActions.execute(action.getAttribute("data-model-action"));
    return;
  }
  if (event.target.closest(".field-filters a.filter")) {
    event.preventDefault();
    return;
  }
  var confirming = event.target.closest("[data-confirm]");
  if (confirming && !window.confirm(confirming.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

/* A job's progress on its page (the console's large CSV imports): asked for every second,
   and the page loaded again, with the job's report, once the job has ended. */
(function () {
  var box = document.querySelector("[data-job-progress]");
  if (!box) {
    return;
  }
  var bar = box.querySelector("progress");
  var status = box.querySelector("[data-job-status]");
  function poll() {
    fetch(box.getAttribute("data-job-progress"), {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.state !== "queued" && job.state !== "running") {
          window.location.reload();
          return;
        }
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        status.textContent = job.state === "queued" ? "Waiting for a worker…"
          : job.percent + "% of the file read…";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
