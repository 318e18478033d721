// Small progressive enhancements for the hub UI (no dependencies, no CDN).
document.addEventListener("DOMContentLoaded", function () {
  // "Select all" checkbox for the unmapped values queue.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(
        function (other) { other.checked = box.checked; });
    });
  });
  // Filter a target <select> by typing. Typing only narrows the list: the officer still
  // picks the target (which ticks the row), and Enter in the box never submits the form.
  document.querySelectorAll("input[data-filter-for]").forEach(function (input) {
    var select = document.getElementById(input.dataset.filterFor);
    if (!select) return;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.options, function (opt) {
        opt.hidden = !!needle && !!opt.value &&
          opt.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); select.focus(); }
    });
    select.addEventListener("change", function () {
      var row = select.closest("tr"), box = row && row.querySelector('input[name="accept"]');
      if (box) box.checked = true;
    });
  });
  // Saving mappings: say what each ticked row maps to and how many records it releases.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      var lines = [];
      form.querySelectorAll('input[name="accept"]:checked').forEach(function (box) {
        var row = box.closest("tr"), select = row && row.querySelector("select");
        if (!select) return;
        var chosen = select.options[select.selectedIndex];
        lines.push("• " + row.dataset.value + " → " +
                   (select.value ? chosen.textContent.trim() : "?") +
                   " (" + row.dataset.count + ")");
      });
      if (lines.length && !window.confirm(form.dataset.confirm + "\n" + lines.join("\n"))) {
        ev.preventDefault();
      }
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      if (!window.confirm(btn.dataset.confirm)) ev.preventDefault();
    });
  });
});
