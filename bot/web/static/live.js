// The incident page's live timeline: new events arrive as server-sent events and are
// appended as text (never as HTML). Without JavaScript the page is complete as served.
(function () {
  "use strict";
  var list = document.getElementById("timeline");
  var state = document.getElementById("live-state");
  if (!list || !list.dataset.live || !window.EventSource) { return; }
  var source = new EventSource(list.dataset.live);
  source.addEventListener("open", function () { state.textContent = "· live"; });
  source.addEventListener("error", function () { state.textContent = "· reconnecting…"; });
  source.addEventListener("entry", function (message) {
    var entry = JSON.parse(message.data);
    if (list.querySelector('li[data-id="' + entry.id + '"]')) { return; }
    var item = document.createElement("li");
    item.dataset.id = entry.id;
    if (entry.key) { item.className = "key"; }
    var when = document.createElement("time");
    when.dateTime = entry.at;
    when.textContent = entry.time;  // in the reader's Slack time zone, like the rest
    item.appendChild(when);
    if (entry.actor) {
      var actor = document.createElement("span");
      actor.className = "actor";
      actor.textContent = " " + entry.actor;
      item.appendChild(actor);
    }
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = " " + entry.text;
    item.appendChild(text);
    list.appendChild(item);
  });
}());
