// Small progressive enhancements; every page works without this file.
//  - the home page's live feed: events arrive from the gateway's
//    Server-Sent Events stream (/v1/events) and are listed as they come,
//    and the list of discussions is re-rendered by the server (/feed)
//    after each one; without EventSource it is refreshed every minute;
//  - the header's bell shows the member's unread notifications, kept
//    live by the gateway's stream /v1/me/notifications/live (the session
//    cookie authenticates it); without EventSource it shows no count;
//  - forms marked data-confirm ask before sending;
//  - a form sent once cannot be sent again by a double click;
//  - the error box of a refused form gets the focus, so screen readers
//    read it first.
(function () {
  "use strict";

  // The event types the live feed publishes (gateway/feed/public.go).
  var EVENT_TYPES = [
    "catalog.practice.published", "catalog.practice.revised", "catalog.practice.archived",
    "catalog.need.opened", "catalog.offer.opened",
    "twinning.twinning.created", "twinning.twinning.proposed", "twinning.twinning.approved",
    "twinning.twinning.activated", "twinning.twinning.suspended", "twinning.twinning.resumed",
    "twinning.twinning.completed", "twinning.twinning.cancelled",
    "twinning.transfer.status_changed", "twinning.activity.logged", "twinning.report.approved",
    "discussion.member.joined", "discussion.thread.opened", "discussion.post.added",
    "discussion.story.published"
  ];
  var MAX_EVENTS = 5;

  function refreshThreads(box) {
    var target = document.getElementById("live-threads");
    if (!target || document.visibilityState !== "visible") return;
    fetch(box.getAttribute("data-feed-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        // The fragment comes from the server's templates, which escape
        // every value; it is parsed inertly and its nodes moved in.
        var doc = new DOMParser().parseFromString(html, "text/html");
        target.replaceChildren.apply(target, Array.prototype.slice.call(doc.body.childNodes));
      })
      .catch(function () { /* next time */ });
  }

  // portalLink turns an API link of an event into the page that shows it.
  function portalLink(apiLink) {
    var m = /^\/v1\/(practices|twinnings|threads)\/([^\/?#]+)/.exec(apiLink || "");
    return m ? "/" + m[1] + "/" + m[2] : null;
  }

  function showEvent(list, labels, type, data) {
    var ev;
    try { ev = JSON.parse(data); } catch (e) { return; }
    var kind = type.split(".").slice(0, 2).join(".");
    var li = document.createElement("li");
    var label = document.createElement("strong");
    // A report's label says its kind (the event's summary: quarterly or
    // final); its link, the quarter, or words when it has none.
    var isReport = kind === "twinning.report";
    label.textContent = ((isReport && labels[kind + "." + ev.summary]) || labels[kind] || kind) + " ";
    li.appendChild(label);
    var href = portalLink(ev.link);
    // A post's line names its author, then links the thread by its title
    // (the event's summary; older events have none and link the author).
    var inThread = kind === "discussion.post" && ev.summary;
    var title = document.createElement(href && !inThread ? "a" : "span");
    if (href && !inThread) title.setAttribute("href", href);
    title.textContent = ev.title || (isReport ? labels["twinning.report.open"] || "" : "");
    li.appendChild(title);
    if (inThread) {
      li.appendChild(document.createTextNode(" " + (labels["discussion.post.in"] || "") + " "));
      var thread = document.createElement(href ? "a" : "span");
      if (href) thread.setAttribute("href", href);
      thread.textContent = ev.summary;
      li.appendChild(thread);
    }
    // A transfer says which model and what became of it, in words.
    if (kind === "twinning.transfer" && ev.model_code) {
      var what = " \u2014 " + (labels["twinning.transfer.model"] || "") + " " + ev.model_code;
      var status = labels["twinning.transfer." + ev.status];
      li.appendChild(document.createTextNode(status ? what + ": " + status : what));
    }
    list.insertBefore(li, list.firstChild);
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
    list.hidden = false;
  }

  function startFeed(box) {
    var labels = {};
    try { labels = JSON.parse(box.getAttribute("data-labels") || "{}"); } catch (e) { /* keep raw kinds */ }
    var list = document.getElementById("live-events");
    if (!window.EventSource || !list) {
      setInterval(function () { refreshThreads(box); }, 60000);
      return;
    }
    var pending = null;
    var source = new EventSource(box.getAttribute("data-events-url"));
    source.addEventListener("open", function () { box.setAttribute("data-live", "open"); });
    EVENT_TYPES.forEach(function (type) {
      source.addEventListener(type, function (e) {
        showEvent(list, labels, type, e.data);
        if (pending) clearTimeout(pending);
        pending = setTimeout(function () { refreshThreads(box); }, 1500);
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function startBell(bell) {
    var count = bell.querySelector("[data-testid=bell-count]");
    if (!window.EventSource || !count) return;
    var source = new EventSource(bell.getAttribute("data-live"));
    source.addEventListener("unread", function (e) {
      var n;
      try { n = JSON.parse(e.data).unread_count || 0; } catch (err) { return; }
      count.textContent = String(n);
      count.hidden = n === 0;
      bell.setAttribute("data-unread", String(n));
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var bell = document.querySelector("[data-testid=bell][data-live]");
    if (bell) startBell(bell);

    var feed = document.getElementById("live-feed");
    if (feed && window.fetch && window.DOMParser) startFeed(feed);

    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });

    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (e.defaultPrevented) return;
        if (form.dataset.sent === "1") { e.preventDefault(); return; }
        form.dataset.sent = "1";
      });
    });

    var errors = document.getElementById("form-errors");
    if (errors) errors.focus();
  });
})();
