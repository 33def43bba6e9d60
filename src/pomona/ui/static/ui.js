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
  // The hook for the event stream (/api/v1/events/stream, Server-Sent Events): when a server
  // has it, pages that show something that can change under the user mark an element with
  // data-live-topic="<event type prefix>" and data-live-url="<fragment to reload>"; an event
  // whose type starts with the topic reloads that fragment. Nothing connects until a page asks.
  function setUpLive(root) {
    var watched = root.querySelectorAll("[data-live-topic]");
    if (!watched.length || !window.EventSource || window.pomonaStream) return;
    window.pomonaStream = new EventSource("/api/v1/events/stream");
    window.pomonaStream.onmessage = function (message) {
      var type = "";
      try { type = JSON.parse(message.data).type || ""; } catch (e) { return; }
      document.querySelectorAll("[data-live-topic]").forEach(function (element) {
        if (type.indexOf(element.dataset.liveTopic) === 0) {
          htmx.ajax("GET", element.dataset.liveUrl, { target: element, select: "#" + element.id, swap: "outerHTML" });
        }
      });
    };
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
