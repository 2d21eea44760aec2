// Openline console: small enhancements over server-rendered pages. Every page works without
// this script; with it, the messages log and the dev phone update live (server-sent events)
// and the dev phone sends without reloading. HTML fragments come from the server, rendered
// with autoescaping, so they are inserted as they are.
"use strict";

(function () {
  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function findBySid(container, sid) {
    var items = container.querySelectorAll("[data-sid]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-sid") === sid) return items[i];
    }
    return null;
  }

  // Forms that change something lasting ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // --- the messages log: new rows and status changes, live -----------------------------------
  function liveLog(tbody) {
    var label = document.querySelector("[data-live-label]");
    var fresh = 0;
    var source = new EventSource(tbody.getAttribute("data-stream"));
    source.addEventListener("row", function (event) {
      var row = fragment(event.data);
      if (!row) return;
      var existing = findBySid(tbody, row.getAttribute("data-sid"));
      if (existing) {
        existing.replaceWith(row);
      } else {
        tbody.insertBefore(row, tbody.firstChild);
        fresh += 1;
        var empty = document.getElementById("log-empty");
        if (empty) empty.remove();
        if (label) label.textContent = "Live: " + fresh + " new message" + (fresh === 1 ? "" : "s") + " since this page loaded.";
      }
    });
    source.addEventListener("status", function (event) {
      var change = JSON.parse(event.data);
      var row = findBySid(tbody, change.sid);
      if (!row) return;
      var cell = row.querySelector("[data-status]");
      if (cell) {
        cell.textContent = change.status;
        cell.className = "status s-" + change.status;
      }
    });
    source.addEventListener("busy", function () {
      if (label) { label.textContent = "Live updates paused: too many open views. Reload later."; label.classList.add("off"); }
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED && label) {
        label.textContent = "Live updates stopped. Reload the page to resume.";
        label.classList.add("off");
      }
    });
  }

  // --- the dev phone ---------------------------------------------------------------------------
  function panelFor(key) {
    var panels = document.querySelectorAll("[data-chat]");
    for (var i = 0; i < panels.length; i++) {
      if (panels[i].getAttribute("data-chat") === key) return panels[i];
    }
    return null;
  }

  function addBubble(panel, sid, html) {
    var list = panel.querySelector(".bubbles");
    if (!list || findBySid(list, sid)) return;
    var bubble = fragment(html);
    if (!bubble) return;
    list.appendChild(bubble);
    list.scrollTop = list.scrollHeight;
  }

  function devPhone(container) {
    var lists = container.querySelectorAll(".bubbles");
    for (var i = 0; i < lists.length; i++) lists[i].scrollTop = lists[i].scrollHeight;
    var url = container.getAttribute("data-phone-stream");
    if (url) {
      var source = new EventSource(url);
      source.addEventListener("bubble", function (event) {
        var item = JSON.parse(event.data);
        var panel = panelFor(item.chat);
        if (panel) addBubble(panel, item.sid, item.html);
      });
    }
    var forms = container.querySelectorAll("[data-phone-send]");
    for (var j = 0; j < forms.length; j++) wireCompose(forms[j]);
  }

  function wireCompose(form) {
    var text = form.querySelector("textarea");
    var problem = form.querySelector(".phone-error");
    var button = form.querySelector("button");
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!text.value.trim()) return;
      button.disabled = true;
      problem.hidden = true;
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().catch(function () { return { ok: false, error: "The console answered " + response.status }; });
      }).then(function (result) {
        if (result.ok) {
          text.value = "";
          addBubble(form.closest("[data-chat]"), result.sid, result.html);
        } else {
          problem.textContent = result.error || "Not sent.";
          problem.hidden = false;
        }
      }).catch(function () {
        problem.textContent = "Not sent: the console cannot be reached.";
        problem.hidden = false;
      }).finally(function () {
        button.disabled = false;
        text.focus();
      });
    });
  }

  function start() {
    var log = document.querySelector("[data-live-log]");
    if (log && window.EventSource) liveLog(log);
    var phones = document.querySelector(".phones");
    if (phones) devPhone(phones);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
