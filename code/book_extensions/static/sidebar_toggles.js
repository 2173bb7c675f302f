// The sidebar buttons work on a phone. Both themes hook their buttons with
// document.querySelector, which finds only the first ".primary-toggle" (and
// ".secondary-toggle"): pydata-sphinx-theme 0.17's navbar button, which this
// layout hides. The buttons a reader sees are sphinx-book-theme's, so a click
// on one is passed to the first button of its kind (pydata-sphinx-theme
// issue 2451, sphinx-book-theme issue 988). tests/test_browser.py checks it.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary-toggle", "secondary-toggle"]) {
    const [first, ...others] = document.querySelectorAll(`.${kind}`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        first.click();
      });
    }
  }
});
