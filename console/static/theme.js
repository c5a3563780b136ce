/* The colour theme switch of the header (templates/_theme_switch.html) without a reload: the
   page takes the chosen theme at once, so a half-filled form keeps its input, and the choice is
   stored in the background. Without JavaScript the switch's buttons submit the form and the
   same page comes back in the new theme. */
document.addEventListener("submit", function (event) {
  var form = event.target.closest("[data-theme-switch]");
  var button = event.submitter;
  if (!form || !button || !button.value || !window.fetch) {
    return;
  }
  event.preventDefault();
  var body = new FormData(form);
  body.set("theme", button.value);
  document.documentElement.setAttribute("data-theme", button.value);
  document.querySelectorAll("[data-theme-switch] button[name=theme]").forEach(function (choice) {
    var chosen = choice.value === button.value;
    choice.classList.toggle("active", chosen);
    choice.setAttribute("aria-pressed", chosen ? "true" : "false");
  });
  // The answer is a redirect back to this page: not followed, it is the sign of success.
  fetch(form.action, {method: "POST", body: body, credentials: "same-origin", redirect: "manual"})
    .then(function (response) {
      if (response.type !== "opaqueredirect" && !response.ok) {
        window.location.reload();  // the page as stored, in the theme the server kept
      }
    })
    .catch(function () { window.location.reload(); });
});
