// Small progressive enhancements for the hub UI (no dependencies, no CDN).
document.addEventListener("DOMContentLoaded", function () {
  // "Select all" checkbox for the unmapped values queue.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(
        function (other) { other.checked = box.checked; });
    });
  });
  // Filter a target <select> by typing; the first visible option gets selected.
  document.querySelectorAll("input[data-filter-for]").forEach(function (input) {
    var select = document.getElementById(input.dataset.filterFor);
    if (!select) return;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase(), first = null;
      Array.prototype.forEach.call(select.options, function (opt) {
        var show = !needle || opt.textContent.toLowerCase().indexOf(needle) >= 0;
        opt.hidden = !show;
        if (show && !first) first = opt;
      });
      if (first && needle) select.value = first.value;
      var row = input.closest("tr"), box = row && row.querySelector('input[name="accept"]');
      if (box && needle) box.checked = true;
    });
    select.addEventListener("change", function () {
      var row = select.closest("tr"), box = row && row.querySelector('input[name="accept"]');
      if (box) box.checked = true;
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      if (!window.confirm(btn.dataset.confirm)) ev.preventDefault();
    });
  });
});
