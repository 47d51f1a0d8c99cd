// The board page's live timeline: follow the inspector's event stream and put each new
// event on top. Rows arrive rendered (and escaped) by the server, so they look like the
// rows the page loaded with; the browser's EventSource reconnects on its own and resumes
// after the last event it got (Last-Event-ID).
(function () {
  "use strict";
  var table = document.getElementById("timeline");
  var status = document.getElementById("timeline-status");
  if (!table || !table.dataset.stream) return; // an older page: it stays as it is
  if (!window.EventSource) {
    if (status) status.textContent = "not live (no EventSource in this browser)";
    return;
  }
  var body = table.tBodies[0];
  var MAX_ROWS = 500; // a long-open page keeps its memory bounded
  var source = new EventSource(table.dataset.stream);

  source.addEventListener("open", function () {
    status.textContent = "live";
  });
  source.addEventListener("error", function () {
    status.textContent = "reconnecting…";
  });
  source.addEventListener("row", function (message) {
    var holder = document.createElement("template");
    holder.innerHTML = message.data.trim();
    var row = holder.content.firstElementChild;
    if (!row || body.querySelector('tr[data-seq="' + row.dataset.seq + '"]')) return;
    row.classList.add("fresh");
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  });
})();
