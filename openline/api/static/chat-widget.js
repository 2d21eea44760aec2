/*
 * Openline web chat widget: plain JavaScript, no dependencies, no build step.
 *
 *   <script src="https://openline.example/chat/widget.js"></script>
 *   <script>
 *     OpenlineChat.init({
 *       server: "https://openline.example",   // Openline's base URL
 *       token: "eyJ...",                       // an AccessToken with a ChatGrant (or a function
 *                                              //  returning a Promise of one, called again to refresh)
 *       conversation: "CH...",                 // SID or unique name; the identity must be a participant
 *       container: "#chat",                    // element or selector; default: a box at the bottom right
 *       title: "Chat with us"
 *     });
 *   </script>
 *
 * Or, where no inline script is allowed: <div data-openline-chat data-token="…" data-conversation="…"
 * data-server="…" data-title="…"></div> before the script tag.
 *
 * It speaks the Openline chat protocol (docs/chat-protocol.md) over one WebSocket: history on
 * join, sending, a typing indicator, read state (own messages show "Read" once another
 * participant's read horizon passes them), and edits and removals made anywhere (shown in place;
 * the page edits or removes with chat.edit(sid, text) and chat.remove(sid)). Every text from the network is shown with
 * textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var WS_PATH = "/conversations/v1/Chat/ws";
  var TYPING_SHOW_MS = 3000;
  var RECONNECT_MAX_MS = 15000;

  function el(tag, style, attrs) {
    var node = document.createElement(tag);
    var key;
    for (key in style || {}) { node.style[key] = style[key]; }
    for (key in attrs || {}) { node.setAttribute(key, attrs[key]); }
    return node;
  }

  function socketUrl(server) {
    var base = String(server || global.location.origin).replace(/\/+$/, "");
    return base.replace(/^http(s?):/i, "ws$1:") + WS_PATH;
  }

  function Chat(options) {
    this.options = options;
    this.identity = null;
    this.conversationSid = null;
    this.messages = {};          // index -> message
    this.reads = {};             // participant sid -> last read index (others)
    this.participantSid = null;
    this.typingTimers = {};
    this.lastTypingSent = 0;
    this.lastReadSent = -1;
    this.backoff = 500;
    this.closed = false;
    this.nextId = 1;
    this.pending = {};           // request id -> text sent (for error display)
    this.build();
    this.connect();
  }

  Chat.prototype.build = function () {
    var o = this.options;
    var host = typeof o.container === "string" ? document.querySelector(o.container) : o.container;
    if (!host) {
      host = el("div", {position: "fixed", right: "16px", bottom: "16px", width: "320px", zIndex: "2147483000"});
      document.body.appendChild(host);
    }
    var box = el("div", {display: "flex", flexDirection: "column", height: o.height || "420px",
      border: "1px solid #ccd", borderRadius: "8px", background: "#fff", fontFamily: "system-ui, sans-serif",
      fontSize: "14px", overflow: "hidden", boxShadow: "0 2px 12px rgba(0,0,0,.15)"}, {"data-olc": "widget"});
    var head = el("div", {padding: "8px 12px", background: "#1f4f99", color: "#fff", fontWeight: "600"});
    head.textContent = o.title || "Chat";
    this.status = el("div", {fontSize: "11px", fontWeight: "400", opacity: ".85"}, {"data-olc": "status"});
    this.status.textContent = "connecting…";
    head.appendChild(this.status);
    this.list = el("div", {flex: "1", overflowY: "auto", padding: "8px", background: "#f6f7fb"},
      {"data-olc": "messages", "aria-live": "polite"});
    this.more = el("button", {display: "none", margin: "0 auto 6px", fontSize: "12px"}, {"data-olc": "more"});
    this.more.textContent = "Earlier messages";
    this.list.appendChild(this.more);
    this.typing = el("div", {minHeight: "16px", padding: "0 10px", fontSize: "12px", color: "#667",
      fontStyle: "italic"}, {"data-olc": "typing"});
    var form = el("form", {display: "flex", borderTop: "1px solid #dde"});
    this.input = el("input", {flex: "1", border: "0", padding: "10px", fontSize: "14px", outline: "none"},
      {"data-olc": "input", "aria-label": "Message", autocomplete: "off", maxlength: "32768"});
    var send = el("button", {border: "0", background: "#1f4f99", color: "#fff", padding: "0 14px"},
      {"data-olc": "send", type: "submit"});
    send.textContent = "Send";
    form.appendChild(this.input);
    form.appendChild(send);
    box.appendChild(head);
    box.appendChild(this.list);
    box.appendChild(this.typing);
    box.appendChild(form);
    host.appendChild(box);
    this.root = box;
    var self = this;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value;
      if (text.trim()) { self.send(text); self.input.value = ""; }
    });
    this.input.addEventListener("input", function () { self.sendTyping(); });
    this.more.addEventListener("click", function () { self.loadEarlier(); });
    document.addEventListener("visibilitychange", function () { self.markRead(); });
  };

  Chat.prototype.token = function () {
    var t = this.options.token;
    return Promise.resolve(typeof t === "function" ? t() : t);
  };

  Chat.prototype.request = function (frame) {
    frame.id = String(this.nextId++);
    if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify(frame)); }
    return frame.id;
  };

  Chat.prototype.connect = function () {
    var self = this;
    if (this.closed) { return; }
    var ws = new WebSocket(socketUrl(this.options.server));
    this.ws = ws;
    ws.onopen = function () {
      self.token().then(function (token) {
        self.request({type: "auth", token: token});
      });
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      self.handle(frame);
    };
    ws.onclose = function (event) {
      self.setStatus(event.code === 4401 ? "signed out" : "reconnecting…");
      if (self.closed || event.code === 4401) { return; }
      setTimeout(function () { self.connect(); }, self.backoff);
      self.backoff = Math.min(self.backoff * 2, RECONNECT_MAX_MS);
    };
  };

  Chat.prototype.setStatus = function (text) { this.status.textContent = text; };

  Chat.prototype.handle = function (frame) {
    var o = this.options;
    switch (frame.type) {
      case "ready":
        this.identity = frame.identity;
        this.backoff = 500;
        this.scheduleRefresh(frame.expires);
        this.request({type: "join", conversation: o.conversation});
        break;
      case "joined":
        // (Re)joined: start from fresh history, which has every edit and removal made meanwhile.
        for (var shown in this.messages) { this.drop(shown); }
        this.conversationSid = frame.conversation.sid;
        this.participantSid = frame.participant.sid;
        for (var i = 0; i < frame.participants.length; i++) {
          var p = frame.participants[i];
          if (p.sid !== this.participantSid && p.last_read_message_index !== null) {
            this.reads[p.sid] = p.last_read_message_index;
          }
        }
        this.setStatus("connected as " + this.identity);
        this.request({type: "history", conversation: this.conversationSid, limit: 30});
        break;
      case "history":
        for (var j = 0; j < frame.messages.length; j++) { this.show(frame.messages[j]); }
        this.more.style.display = frame.has_more ? "block" : "none";
        this.markRead();
        break;
      case "message":
      case "sent":
        this.show(frame.message);
        if (frame.message.author !== this.identity) { this.clearTyping(frame.message.author); }
        this.markRead();
        if (o.onMessage) { o.onMessage(frame.message); }
        break;
      case "message_updated":
      case "updated":
        this.change(frame.message);
        break;
      case "message_removed":
      case "removed":
        this.drop(frame.message.index);
        break;
      case "typing":
        this.showTyping(frame.identity || "Someone");
        break;
      case "read":
        if (frame.participant_sid !== this.participantSid) {
          this.reads[frame.participant_sid] = frame.index;
          this.refreshReadState();
        }
        break;
      case "error":
        this.setStatus("error " + frame.code + ": " + frame.message);
        if (o.onError) { o.onError(frame); }
        break;
    }
  };

  Chat.prototype.scheduleRefresh = function (expires) {
    var self = this;
    if (typeof this.options.token !== "function") { return; }
    clearTimeout(this.refreshTimer);
    var wait = Math.max(5000, expires * 1000 - Date.now() - 60000);
    this.refreshTimer = setTimeout(function () {
      self.token().then(function (token) { self.request({type: "auth", token: token}); });
    }, wait);
  };

  Chat.prototype.readHorizon = function () {
    var best = -1;
    for (var sid in this.reads) { if (this.reads[sid] > best) { best = this.reads[sid]; } }
    return best;
  };

  Chat.prototype.show = function (m) {
    if (this.messages[m.index]) { return; }
    var mine = m.author === this.identity;
    var row = el("div", {display: "flex", flexDirection: "column", alignItems: mine ? "flex-end" : "flex-start",
      margin: "4px 0"}, {"data-olc-index": String(m.index), "data-olc-author": m.author});
    var who = el("div", {fontSize: "11px", color: "#667"});
    who.textContent = mine ? "You" : m.author;
    var bubble = el("div", {maxWidth: "80%", padding: "6px 10px", borderRadius: "12px", whiteSpace: "pre-wrap",
      wordBreak: "break-word", background: mine ? "#1f4f99" : "#e3e6ef", color: mine ? "#fff" : "#111"},
      {"data-olc": "body"});
    bubble.textContent = m.body || "";
    row.appendChild(who);
    row.appendChild(bubble);
    row.olcBody = bubble;
    row.olcWho = who;
    row.setAttribute("data-olc-sid", m.sid);
    if (mine) {
      var state = el("div", {fontSize: "10px", color: "#889"}, {"data-olc": "state"});
      row.appendChild(state);
      row.olcState = state;
    }
    this.messages[m.index] = row;
    // Keep rows ordered by index (history pages arrive after newer pushes).
    var after = null;
    var rows = this.list.querySelectorAll("[data-olc-index]");
    for (var i = 0; i < rows.length; i++) {
      if (Number(rows[i].getAttribute("data-olc-index")) > m.index) { after = rows[i]; break; }
    }
    this.list.insertBefore(row, after);
    if (!after) { this.list.scrollTop = this.list.scrollHeight; }
    this.refreshReadState();
  };

  // An edit shows in place (marked as edited); a message not shown yet comes with its new text.
  Chat.prototype.change = function (m) {
    var row = this.messages[m.index];
    if (!row) { return; }
    row.olcBody.textContent = m.body || "";
    if (!row.olcEdited) {
      row.olcEdited = true;
      row.olcWho.textContent += " (edited)";
      row.setAttribute("data-olc-edited", "true");
    }
  };

  Chat.prototype.drop = function (index) {
    var row = this.messages[index];
    if (!row) { return; }
    delete this.messages[index];
    row.parentNode.removeChild(row);
  };

  Chat.prototype.edit = function (sid, text) {
    if (!this.conversationSid) { return null; }
    return this.request({type: "update", conversation: this.conversationSid, message: sid, body: text});
  };

  Chat.prototype.remove = function (sid) {
    if (!this.conversationSid) { return null; }
    return this.request({type: "remove", conversation: this.conversationSid, message: sid});
  };

  Chat.prototype.refreshReadState = function () {
    var horizon = this.readHorizon();
    for (var index in this.messages) {
      var row = this.messages[index];
      if (row.olcState) { row.olcState.textContent = Number(index) <= horizon ? "Read" : "Sent"; }
    }
  };

  Chat.prototype.markRead = function () {
    if (!this.conversationSid || document.visibilityState === "hidden") { return; }
    var newest = -1;
    for (var index in this.messages) { if (Number(index) > newest) { newest = Number(index); } }
    if (newest > this.lastReadSent) {
      this.lastReadSent = newest;
      this.request({type: "read", conversation: this.conversationSid, index: newest});
    }
  };

  Chat.prototype.showTyping = function (who) {
    var self = this;
    clearTimeout(this.typingTimers[who]);
    this.typingTimers[who] = setTimeout(function () { self.clearTyping(who); }, TYPING_SHOW_MS);
    this.renderTyping();
  };

  Chat.prototype.clearTyping = function (who) {
    clearTimeout(this.typingTimers[who]);
    delete this.typingTimers[who];
    this.renderTyping();
  };

  Chat.prototype.renderTyping = function () {
    var names = Object.keys(this.typingTimers);
    this.typing.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…" : "";
  };

  Chat.prototype.sendTyping = function () {
    var now = Date.now();
    if (this.conversationSid && now - this.lastTypingSent > 1000) {
      this.lastTypingSent = now;
      this.request({type: "typing", conversation: this.conversationSid});
    }
  };

  Chat.prototype.send = function (text, attributes) {
    if (!this.conversationSid) { return null; }
    var frame = {type: "send", conversation: this.conversationSid, body: text};
    if (attributes) { frame.attributes = attributes; }
    return this.request(frame);
  };

  Chat.prototype.loadEarlier = function () {
    var oldest = null;
    for (var index in this.messages) { if (oldest === null || Number(index) < oldest) { oldest = Number(index); } }
    if (oldest !== null) {
      this.request({type: "history", conversation: this.conversationSid, before: oldest, limit: 30});
    }
  };

  Chat.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    if (this.ws) { this.ws.close(1000); }
  };

  // Pages that allow no inline script (a strict Content-Security-Policy, such as Openline's own
  // console) declare the widget instead: <div data-openline-chat data-token="…" data-conversation="…">.
  function autoInit() {
    var nodes = document.querySelectorAll("[data-openline-chat]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.olcStarted) { continue; }
      node.olcStarted = true;
      global.OpenlineChat.init({server: node.getAttribute("data-server") || undefined,
        token: node.getAttribute("data-token"), conversation: node.getAttribute("data-conversation"),
        title: node.getAttribute("data-title") || undefined, container: node});
    }
  }

  global.OpenlineChat = {
    init: function (options) {
      if (!options || !options.token || !options.conversation) {
        throw new Error("OpenlineChat.init needs token and conversation");
      }
      var chat = new Chat(options);
      return {
        send: function (text, attributes) { return chat.send(text, attributes); },
        edit: function (sid, text) { return chat.edit(sid, text); },
        remove: function (sid) { return chat.remove(sid); },
        close: function () { chat.close(); },
        element: chat.root
      };
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoInit);
  } else {
    autoInit();
  }
})(window);
