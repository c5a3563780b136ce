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
