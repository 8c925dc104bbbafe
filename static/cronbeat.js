// Small enhancements; every page works without them.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#element-id">Copy</button>
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Keep "3 minutes ago" true while the page stays open.
  var UNITS = [["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  function relative(iso) {
    var delta = (Date.now() - Date.parse(iso)) / 1000;
    if (Math.abs(delta) < 10) return "just now";
    var abs = Math.abs(delta);
    for (var i = 0; i < UNITS.length; i++) {
      var count = Math.floor(abs / UNITS[i][1]);
      if (count >= 1) {
        var text = count + " " + UNITS[i][0] + (count === 1 ? "" : "s");
        return delta > 0 ? text + " ago" : "in " + text;
      }
    }
    return "just now";
  }
  function refreshTimes() {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      el.textContent = relative(el.getAttribute("datetime"));
    });
  }
  setInterval(refreshTimes, 15000);
})();
