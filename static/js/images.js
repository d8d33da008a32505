// Images pages, progressive: copy buttons and "select all". Without JS the
// full ID is in the title and every checkbox still submits.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP fallback: a temporary text field and the old copy command.
    return new Promise(function (resolve, reject) {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.className = "offscreen";
      document.body.appendChild(field);
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(field);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  document.querySelectorAll(".js-copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var label = button.textContent;
      copyText(button.getAttribute("data-copy")).then(
        function () { button.textContent = "copied"; },
        function () { button.textContent = "select & copy"; }
      ).then(function () {
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  var form = document.getElementById("image-selection");
  if (!form) { return; }
  var all = form.querySelector(".js-select-all");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=ref]"));
  var count = form.querySelector(".js-selection-count");
  var submit = document.getElementById("remove-selected");

  function refresh() {
    var chosen = boxes.filter(function (b) { return b.checked; }).length;
    if (count) { count.textContent = chosen ? chosen + " selected" : ""; }
    if (submit) { submit.disabled = chosen === 0; }
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }

  if (all && boxes.length) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      refresh();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", refresh); });
  refresh();
})();
