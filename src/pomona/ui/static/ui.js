// Pomona's web UI: the little that needs a script beyond htmx. Loaded as a file (the
// Content-Security-Policy allows no inline script); no build step.
(function () {
  "use strict";

  // -- reordering versions by drag and drop (the Up/Down buttons do the same by keyboard) ------
  function setUpReorder(root) {
    root.querySelectorAll("ol[data-reorder]").forEach(function (list) {
      if (list.dataset.ready) return;
      list.dataset.ready = "1";
      var dragged = null;
      list.addEventListener("dragstart", function (event) {
        dragged = event.target.closest("li");
        if (!dragged) return;
        dragged.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", dragged.dataset.version);
      });
      list.addEventListener("dragover", function (event) {
        var over = event.target.closest("li");
        if (!dragged || !over || over === dragged) return;
        event.preventDefault();
        var box = over.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        list.insertBefore(dragged, after ? over.nextSibling : over);
      });
      list.addEventListener("drop", function (event) { event.preventDefault(); });
      list.addEventListener("dragend", function () {
        if (!dragged) return;
        dragged.classList.remove("dragging");
        dragged = null;
        var form = document.getElementById(list.dataset.reorder);
        form.querySelectorAll("input[name=order]").forEach(function (input) { input.remove(); });
        list.querySelectorAll("li[data-version]").forEach(function (item) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "order";
          input.value = item.dataset.version;
          form.appendChild(input);
        });
        htmx.trigger(form, "submit");
      });
    });
  }

  // -- package uploads: tus, resumable, with progress ------------------------------------------
  function setUpUpload(root) {
    var section = root.querySelector("#upload");
    if (!section || section.dataset.ready || !window.tus) return;
    section.dataset.ready = "1";
    var input = section.querySelector("input[type=file]");
    var zone = section.querySelector(".dropzone");
    var bar = section.querySelector("progress");
    var status = section.querySelector("[role=status]");

    function send(file) {
      var interruptions = 0;
      function note() {
        return interruptions ? " (resumed after " + interruptions + " interruption" + (interruptions > 1 ? "s" : "") + ")" : "";
      }
      var upload = new tus.Upload(file, {
        endpoint: section.dataset.endpoint,
        headers: { "X-CSRF-Token": section.dataset.csrf },
        metadata: { filename: file.name },
        chunkSize: 8 * 1024 * 1024,
        // A dropped connection or a restarted server: try again, then carry on from the
        // offset the server reports.
        retryDelays: [0, 500, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 20000, 30000],
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          bar.hidden = false;
          bar.value = Math.floor((sent / total) * 100);
          status.textContent = "Uploading " + file.name + ": " + bar.value + "%" + note();
        },
        onShouldRetry: function (error, attempt) {
          interruptions += 1;
          status.textContent = "Connection lost; trying again (" + (attempt + 1) + ")…";
          return true;
        },
        onError: function (error) {
          status.textContent = "The upload failed: " + error.message + ". Choose the file again to resume.";
        },
        onSuccess: function () {
          bar.value = 100;
          status.textContent = "Uploaded " + file.name + "." + note();
          htmx.ajax("GET", window.location.pathname, { target: "#package-rows", select: "#package-rows", swap: "outerHTML" });
        }
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          status.textContent = "Resuming " + file.name + "…";
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      });
    }

    input.addEventListener("change", function () { if (input.files.length) send(input.files[0]); });
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
    });
  }

  // -- live updates -------------------------------------------------------------------------
  // An element showing what can change under the user has an id, data-live="<patterns>" (event
  // types or patterns such as title.* or *, separated by spaces), and may have
  // data-live-subject="title:Firefox" (that subject's events only) and data-live-url (where to
  // reload it from; by default this page). One EventSource follows /api/v1/events/stream for
  // the page's patterns, authenticated by the session cookie; an event reloads the regions it
  // concerns with htmx, each at most twice a second. The stream names every event by its type,
  // so a listener is added per type of the catalogue (/api/v1/events/types) the patterns match.
  // The browser reconnects by itself with Last-Event-ID; a stream that ended for good (signed
  // out, server restarting) is opened again after a pause, from the last event seen.
  var live = { source: null, patterns: "", last: null, types: null, loading: false, pause: 1000, timers: {} };

  function matches(pattern, type) {
    // Patterns hold only a-z, 0-9, "_", "." and "*" (the server refuses others).
    return new RegExp("^" + pattern.split("*").map(function (part) { return part.replace(/\./g, "\\."); }).join(".*") + "$").test(type);
  }

  function livePatterns() {
    var found = {};
    document.querySelectorAll("[data-live]").forEach(function (element) {
      element.dataset.live.split(/\s+/).forEach(function (pattern) { if (pattern) found[pattern] = true; });
    });
    return Object.keys(found).sort().join(",");
  }

  function reload(id) {
    if (live.timers[id]) return;
    live.timers[id] = setTimeout(function () {
      delete live.timers[id];
      var element = document.getElementById(id);
      if (!element) return;
      var url = element.dataset.liveUrl || window.location.pathname + window.location.search;
      htmx.ajax("GET", url, { target: element, select: "#" + id, swap: "outerHTML" });
    }, 500);
  }

  function received(message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    live.last = message.lastEventId || live.last;
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var subject = element.dataset.liveSubject;
      if (!element.id || (subject && subject !== event.subject)) return;
      if (element.dataset.live.split(/\s+/).some(function (p) { return p && matches(p, event.type); })) reload(element.id);
    });
  }

  // A stream opened without a last event starts at its opening: what happened between the
  // page's making (<html data-rendered>) and then is read from the event log.
  function catchUp() {
    var since = document.documentElement.dataset.rendered;
    if (!since) return;
    var url = "/api/v1/events?perPage=100&type=" + encodeURIComponent(live.patterns) + "&since=" + encodeURIComponent(since);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : { items: [] }; })
      .then(function (found) {
        found.items.forEach(function (event) { received({ data: JSON.stringify(event), lastEventId: "" }); });
      })
      .catch(function () {});
  }

  function connect() {
    if (live.source) live.source.close();
    live.source = null;
    live.patterns = livePatterns();
    var patterns = live.patterns.split(",");
    var types = live.types.filter(function (type) { return patterns.some(function (p) { return p && matches(p, type); }); });
    if (!types.length) return;
    var url = "/api/v1/events/stream?type=" + encodeURIComponent(live.patterns);
    if (live.last) url += "&lastEventId=" + encodeURIComponent(live.last);
    var source = new EventSource(url);
    live.source = source;
    types.forEach(function (type) { source.addEventListener(type, received); });
    source.onopen = function () {
      live.pause = 1000;
      document.documentElement.dataset.liveState = "open";
      if (!live.last) catchUp();
    };
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED || live.source !== source) return;
      document.documentElement.dataset.liveState = "closed";
      live.source = null;
      setTimeout(function () { if (!live.source) connect(); }, live.pause);
      live.pause = Math.min(live.pause * 2, 30000);
    };
  }

  function setUpLive() {
    if (!window.EventSource || !window.fetch || !document.querySelector("[data-live]")) return;
    if (live.types) {
      if (!live.source || livePatterns() !== live.patterns) connect();
      return;
    }
    if (live.loading) return;
    live.loading = true;
    fetch("/api/v1/events/types", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : { items: [] }; })
      .then(function (found) {
        live.types = found.items.map(function (type) { return type.name; });
        connect();
      })
      .catch(function () { live.loading = false; });
  }

  function setUp(root) {
    setUpReorder(root);
    setUpUpload(root);
    setUpLive(root);
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt.ownerDocument || document); });
  // After a swap, focus the main region so a keyboard or screen reader user is where the page changed.
  document.addEventListener("htmx:afterSettle", function (event) {
    var main = document.getElementById("main");
    if (main && event.detail.target === main) main.focus({ preventScroll: true });
  });
})();
