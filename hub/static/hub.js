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
  // A page answering a one-time action (a password reset) names the plain page it
  // shows: reloading then reads that page instead of posting the action again.
  document.querySelectorAll("[data-replace-url]").forEach(function (el) {
    window.history.replaceState(null, "", el.dataset.replaceUrl);
  });
  // Adding a mapping by hand: only the chosen field's hub values are offered.
  document.querySelectorAll("select[data-shows-targets]").forEach(function (field) {
    var form = field.form;
    function show() {
      form.querySelectorAll("[data-targets-for]").forEach(function (block) {
        block.hidden = block.dataset.targetsFor !== field.value;
      });
    }
    field.addEventListener("change", show);
    show();
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      if (!window.confirm(btn.dataset.confirm)) ev.preventDefault();
    });
  });
});
