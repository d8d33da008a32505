// Live pull progress: the page is drawn by the server; this keeps it current from
// the job's server-sent events (snapshot first, then one event per engine event).
(function () {
  "use strict";
  var root = document.getElementById("pull-job");
  if (!root || !window.EventSource) { return; }
  var ACTIVE = { queued: true, running: true };
  if (!ACTIVE[root.dataset.status]) { return; }

  var UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];
  // Same rule as Berth's filesize filter: decimal units, three significant digits.
  function humanSize(bytes) {
    var value = Number(bytes) || 0, unit = 0;
    while (value >= 1000 && unit < UNITS.length - 1) { value /= 1000; unit += 1; }
    var text = value.toPrecision(3);
    if (text.indexOf("e") !== -1) { text = value.toFixed(0); }
    return String(parseFloat(text)) + UNITS[unit];
  }

  function el(id) { return document.getElementById(id); }

  function setText(id, text) {
    var node = el(id);
    if (!node) { return; }
    node.textContent = text || "";
    var line = id === "pull-digest" ? el("pull-digest-line") : node;
    line.hidden = !text;
  }

  function setStatus(status) {
    if (!status) { return; }
    root.dataset.status = status;
    var holder = el("pull-status");
    holder.textContent = "";
    var badge = document.createElement("span");
    badge.className = "badge badge-" + status;
    badge.textContent = status;
    holder.appendChild(badge);
  }

  function setOverall(overall) {
    if (!overall) { return; }
    var percent = overall.percent || 0;
    var bar = el("pull-overall");
    bar.value = percent;
    bar.textContent = percent + "%";
    var text = percent + "%";
    if (overall.bytes_total) {
      text += " · " + humanSize(overall.bytes_done) + " of " + humanSize(overall.bytes_total);
    }
    el("pull-overall-text").textContent = text;
  }

  function setLayer(layer) {
    if (!layer) { return; }
    var body = el("pull-layers").tBodies[0];
    var placeholder = body.querySelector("tr.no-layers");
    if (placeholder) { placeholder.remove(); }
    var row = null;
    for (var i = 0; i < body.rows.length; i++) {
      if (body.rows[i].dataset.layer === layer.id) { row = body.rows[i]; break; }
    }
    if (!row) {
      row = body.insertRow(-1);
      row.dataset.layer = layer.id;
      var idCell = row.insertCell(-1), code = document.createElement("code");
      code.textContent = layer.id;
      idCell.appendChild(code);
      row.insertCell(-1).className = "layer-text";
      var bar = document.createElement("progress");
      bar.max = 100;
      row.insertCell(-1).appendChild(bar);
    }
    row.dataset.state = layer.state;
    row.querySelector(".layer-text").textContent = layer.text;
    var progress = row.querySelector("progress");
    progress.value = layer.percent;
    progress.textContent = layer.percent + "%";
  }

  function apply(data) {
    setStatus(data.status);
    setOverall(data.overall);
    if ("message" in data) { setText("pull-message", data.message); }
    if (data.status_line) { setText("pull-status-line", data.status_line); }
    if (data.digest) { setText("pull-digest", data.digest); }
    if (data.error) { setText("pull-error", data.error); }
  }

  var source = new EventSource(root.dataset.eventsUrl);
  source.addEventListener("snapshot", function (e) {
    var data = JSON.parse(e.data);
    (data.layers || []).forEach(setLayer);
    apply(data);
  });
  source.addEventListener("progress", function (e) {
    var data = JSON.parse(e.data);
    setLayer(data.layer);
    apply(data);
  });
  source.addEventListener("end", function (e) {
    var data = JSON.parse(e.data);
    (data.layers || []).forEach(setLayer);
    apply(data);
    // An image already up to date downloads nothing: say so until the reload below, not "Waiting".
    var placeholder = el("pull-layers").tBodies[0].querySelector("tr.no-layers td");
    if (placeholder) { placeholder.textContent = placeholder.dataset.ended; }
    // Without this the browser would reconnect to a stream that has nothing more to say.
    source.close();
    // Nothing is left to cancel; do not offer it until the reload below.
    var cancelForm = document.getElementById("pull-cancel-form");
    if (cancelForm) { cancelForm.hidden = true; }
    // The server draws the final page (image ID, history, no cancel button).
    window.setTimeout(function () { window.location.reload(); }, 1500);
  });
  source.addEventListener("unavailable", function () {
    source.close();
    window.setTimeout(function () { window.location.reload(); }, 3000);
  });
})();
