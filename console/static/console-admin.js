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

/* The list's filters (Flask-Admin's bs4_filters.js builds each row: the filter's name as its
   remove button, the comparison, the value): every control named after its filter, and the
   focus on the new filter's value once it is added, by mouse or keyboard. Select2 stands in for
   the select elements; its focusable stand-in gets the same name, followed by its value. */
(function () {
  var filters = document.querySelector("#filter_form .filters");
  if (!filters) {
    return;
  }
  var counter = 0;

  function hiddenLabel(cell, text) {
    var label = cell.querySelector(".filter-label");
    if (!label) {
      label = document.createElement("span");
      label.className = "sr-only filter-label";
      label.id = "filter-label-" + (counter += 1);
      cell.insertBefore(label, cell.firstChild);
    }
    if (label.textContent !== text) {  // unchanged text: no mutation, the observer rests
      label.textContent = text;
    }
    return label.id;
  }

  function nameControls(cell, labelId, text) {
    cell.querySelectorAll("select, input").forEach(function (control) {
      if (control.classList.contains("select2-focusser")) {
        var chosen = cell.querySelector(".select2-chosen");
        control.setAttribute("aria-labelledby", labelId + (chosen && chosen.id ? " " + chosen.id : ""));
        // Select2 calls it a button, which a text input cannot be (HTML): a closed combobox.
        control.setAttribute("role", "combobox");
        control.setAttribute("aria-expanded", "false");
      } else if (control.classList.contains("select2-input")) {
        control.setAttribute("aria-label", text);
      } else if (control.type !== "hidden" || control.classList.contains("filter-val")) {
        control.setAttribute("aria-labelledby", labelId);
      }
    });
    cell.querySelectorAll("label.select2-offscreen").forEach(function (label) {
      if (label.textContent !== text) {
        label.textContent = text;
      }
    });
  }

  function nameRow(row) {
    var cells = row.children;
    var remove = row.querySelector(".remove-filter");
    if (!remove || cells.length < 3) {
      return;
    }
    var name = remove.getAttribute("data-filter-name");
    if (!name) {
      name = remove.textContent.replace("\u00d7", "").trim();
      remove.setAttribute("data-filter-name", name);
      remove.setAttribute("aria-label", "Remove the filter " + name);
      var cross = remove.querySelector(".close-icon");
      if (cross) {
        cross.setAttribute("aria-hidden", "true");
      }
    }
    var operation = name + " filter: comparison";
    var value = name + " filter: value";
    nameControls(cells[1], hiddenLabel(cells[1], operation), operation);
    nameControls(cells[2], hiddenLabel(cells[2], value), value);
  }

  function nameAll() {
    filters.querySelectorAll("tr").forEach(nameRow);
  }

  new MutationObserver(nameAll).observe(filters, {childList: true, subtree: true});
  nameAll();

  function focusValue(row) {
    var cell = row && row.children[2];
    if (!cell) {
      return;
    }
    var target = cell.querySelector(".select2-focusser") ||
      cell.querySelector("input:not([type=hidden]), select");
    if (target) {
      target.focus();
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest(".field-filters a.filter")) {
      // After Flask-Admin's own handler has added the row, and after the menu has closed.
      window.setTimeout(function () {
        var rows = filters.querySelectorAll("tr");
        focusValue(rows[rows.length - 1]);
      }, 0);
    }
  });
})();
