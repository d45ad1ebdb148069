// Keyboard shortcuts only: each key clicks the button carrying its data-key; one submission per page.
(function () {
  var sent = false;
  document.addEventListener("submit", function (e) {
    if (sent) { e.preventDefault(); return; }
    sent = true;
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var key = e.key.toLowerCase();
    var button = document.querySelector('button[data-key="' + key + '"]');
    if (button) { e.preventDefault(); button.click(); }
  });
})();
