// The staff pages' forms: a button shows that its form is being sent (and cannot be pressed
// twice) until the next page arrives. Nothing else: the pages work without this script.
for (const form of document.querySelectorAll("form[method=post]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.busy === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.busy = "true";
    form.setAttribute("aria-busy", "true");
    const button = event.submitter;
    if (button) {
      button.classList.add("busy");
      button.setAttribute("aria-disabled", "true");
    }
  });
}
// A page shown again from the back-forward cache starts idle.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-busy]")) {
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
    for (const button of form.querySelectorAll(".busy")) {
      button.classList.remove("busy");
      button.removeAttribute("aria-disabled");
    }
  }
});
