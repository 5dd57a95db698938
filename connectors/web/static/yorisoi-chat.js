/* Yorisoi chat widget: <yorisoi-chat bot="residents"></yorisoi-chat> with ONE script tag.
 *
 * Plain JS, no build step. Talks over a WebSocket (/ws/chat) and falls back to
 * POST /api/v1/messages when it cannot connect. Every message gets a random id and stays
 * queued (also across reloads) until its answer arrives; a resend carries the same id,
 * so the server answers it once. The sender id (the conversation's secret) lives in
 * localStorage per bot; ?resume=<sender> (e.g. from the kiosk's QR code) adopts one.
 * Messages from city staff, interpreters and notices arrive out of turn: pushed over the
 * WebSocket after the newest message id the widget shows, or polled over HTTP without it.
 * Attributes: bot (required), lang (initial UI language), server (base URL; default:
 * where this script came from).
 */
(() => {
  "use strict";
  if (customElements.get("yorisoi-chat")) return;

  const SCRIPT_ORIGIN = document.currentScript && document.currentScript.src
    ? new URL(document.currentScript.src, location.href).origin : location.origin;
  const STEP = /^\s*(\d{1,2})[.．)）]\s*(.+)$/;
  const SENDER = /^[A-Za-z0-9_-]{16,128}$/;
  const MAX_DELAY_MS = 15000;
  const HTTP_AFTER_FAILURES = 2;
  const POLL_MS = 3000;

  const CSS = `
:host { display: block; font-family: system-ui, "Noto Sans", "Noto Sans CJK JP", "Noto Sans Devanagari",
  "Noto Sans Thai", "Noto Sans Myanmar", sans-serif; font-size: 1rem; line-height: 1.55; color: #1f2328; }
* { box-sizing: border-box; }
.chat { display: flex; flex-direction: column; height: 100%; min-height: 20rem; border: 1px solid #8c959f;
  border-radius: .75rem; background: #fff; overflow: hidden; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; padding: .625rem .875rem;
  background: #0b4f8a; color: #fff; }
h2 { margin: 0; font-size: 1.125rem; flex: 1 1 12rem; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.tools label { font-size: .9375rem; }
select, textarea, button { font: inherit; }
select { min-height: 2.75rem; padding: .25rem .5rem; border: 2px solid #fff; border-radius: .375rem;
  background: #fff; color: #1f2328; max-width: 12rem; }
.new { min-height: 2.75rem; padding: .25rem .75rem; border: 2px solid #fff; border-radius: .375rem;
  background: transparent; color: #fff; cursor: pointer; }
.new:hover { background: #0a3d6b; }
.log { flex: 1 1 auto; overflow-y: auto; padding: .875rem; display: flex; flex-direction: column; gap: .625rem;
  background: #f6f7f9; min-height: 6rem; }
.msg { max-width: min(36rem, 92%); padding: .625rem .875rem; border-radius: .75rem; overflow-wrap: anywhere; }
.msg p { margin: 0 0 .375rem; white-space: pre-line; }
.msg p:last-child { margin-bottom: 0; }
.bot { align-self: flex-start; background: #fff; border: 1px solid #d0d7de; }
.user { align-self: flex-end; background: #0b5cad; color: #fff; }
.user.pending { background: #3f6f9f; }
.user .state { display: block; font-size: .8125rem; color: #fff; }
.failed { background: #8f1d1d; }
.speaker { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
ol.steps { margin: .25rem 0 .5rem; padding-left: 1.75rem; }
ol.steps li { margin-bottom: .375rem; white-space: pre-line; }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
.buttons button { min-height: 2.75rem; padding: .375rem .875rem; border: 2px solid #0b5cad; border-radius: 1.375rem;
  background: #fff; color: #0b4f8a; cursor: pointer; text-align: start; }
.buttons button:hover { background: #e8f1fb; }
.links { margin: .5rem 0 0; padding-left: 1.25rem; }
a { color: #0b4f8a; text-decoration: underline; }
.card { border: 1px solid #d0d7de; border-radius: .5rem; padding: .625rem; margin-top: .5rem; }
.card h3 { margin: 0 0 .25rem; font-size: 1rem; }
.card img, .msg img { max-width: 100%; height: auto; border-radius: .375rem; }
.mt { font-size: .8125rem; color: #57606a; }
.staff { align-self: flex-start; background: #fffaf0; border: 2px solid #9a6700; }
.msg .who { margin: 0 0 .25rem; font-size: .875rem; font-weight: 700; color: #7a4d00; }
.system { align-self: center; background: #eef1f4; border: 1px dashed #57606a; font-size: .9375rem; }
.toggle { min-height: 2.75rem; margin-top: .375rem; padding: .25rem .75rem; border: 2px solid #0b5cad;
  border-radius: .5rem; background: #fff; color: #0b4f8a; cursor: pointer; }
.toggle:hover { background: #e8f1fb; }
.original { margin-top: .5rem; padding: .375rem .625rem; border-inline-start: 3px solid #57606a; background: #fff; }
.original[hidden] { display: none; }
.status { margin: 0; padding: 0 .875rem; font-size: .9375rem; color: #1f2328; background: #f6f7f9; }
.status:not(:empty) { padding: .375rem .875rem; }
.offline { background: #fff4d6; color: #4d3800; }
form { display: flex; flex-direction: column; gap: .25rem; padding: .625rem .875rem; border-top: 1px solid #d0d7de; }
form label { font-size: .9375rem; font-weight: 600; }
.row { display: flex; gap: .5rem; align-items: stretch; }
textarea { flex: 1 1 auto; min-width: 0; min-height: 2.75rem; max-height: 8rem; padding: .5rem .625rem;
  border: 2px solid #57606a; border-radius: .5rem; resize: vertical; color: #1f2328; background: #fff; }
.send { min-height: 2.75rem; min-width: 4.5rem; padding: .375rem 1rem; border: 0; border-radius: .5rem;
  background: #0b5cad; color: #fff; font-weight: 600; cursor: pointer; }
.send:hover { background: #0a4f94; }
:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
header :focus-visible { outline-color: #ffd166; }
.log:focus-visible { outline-offset: -3px; }
@media (forced-colors: active) { .msg, button, select, textarea { border: 1px solid CanvasText; } }
`;

  function randomToken(bytes) {
    const data = new Uint8Array(bytes);
    crypto.getRandomValues(data);
    return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fill(template, params) {
    return String(template).replace(/\{([a-z_]+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /** The reply text split around its numbered steps: [{p: "..."}, {steps: ["...", ...]}, ...]. */
  function sections(text, steps) {
    if (!steps || steps.length < 2) return [{ p: text }];
    const out = [];
    let list = null;
    let next = 0;
    for (const line of String(text).split("\n")) {
      const match = STEP.exec(line);
      if (match && next < steps.length && match[2].trim() === String(steps[next]).trim()) {
        if (!list) { list = { steps: [] }; out.push(list); }
        list.steps.push(match[2].trim());
        next += 1;
      } else if (list && next < steps.length) {
        list.steps[list.steps.length - 1] += "\n" + line;
      } else {
        const last = out[out.length - 1];
        if (last && "p" in last) last.p += "\n" + line; else out.push({ p: line });
      }
    }
    return out.filter((s) => !("p" in s) || s.p.trim());
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" || parsed.protocol === "tel:" ? parsed.href : null;
    } catch (_e) { return null; }
  }

  class YorisoiChat extends HTMLElement {
    connectedCallback() {
      if (this.started) return;
      this.started = true;
      this.bot = this.getAttribute("bot") || "residents";
      this.base = (this.getAttribute("server") || SCRIPT_ORIGIN).replace(/\/$/, "");
      this.key = (name) => `yorisoi.${this.bot}.${name}`;
      this.answered = new Set();
      this.seen = new Set(); // ids of stored messages shown (transcript and pushes)
      this.lastId = null; // the newest of them; null: unknown (pushes start from "now")
      this.uid = 0;
      this.inflight = new Map();
      this.failures = 0;
      this.delay = 500;
      this.strings = {};
      this.languages = [];
      this.root = this.attachShadow({ mode: "open" });
      this.adoptResume();
      this.explicitLang = this.load("lang");
      this.start().catch(() => this.setStatus("offline"));
    }

    disconnectedCallback() {
      this.closed = true;
      clearTimeout(this.retryTimer);
      clearInterval(this.pollTimer);
      document.removeEventListener("visibilitychange", this.onVisible);
      if (this.ws) this.ws.close();
    }

    load(name) { try { return localStorage.getItem(this.key(name)); } catch (_e) { return null; } }
    save(name, value) {
      try { if (value === null) localStorage.removeItem(this.key(name)); else localStorage.setItem(this.key(name), value); }
      catch (_e) { /* private mode: the conversation lasts as long as the page */ }
    }

    get outbox() {
      if (!this._outbox) {
        try { this._outbox = JSON.parse(this.load("outbox") || "[]"); } catch (_e) { this._outbox = []; }
      }
      return this._outbox;
    }
    saveOutbox() { this.save("outbox", this.outbox.length ? JSON.stringify(this.outbox) : null); }

    /** ?resume=<sender>&bot=<bot> (the kiosk's QR code) continues that conversation here. */
    adoptResume() {
      const params = new URLSearchParams(location.search);
      const resume = params.get("resume");
      if (!resume || !SENDER.test(resume) || (params.get("bot") && params.get("bot") !== this.bot)) return;
      this.resumed = true;
      this.save("sender", resume);
      this.save("outbox", null);
      params.delete("resume");
      const query = params.toString();
      history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
    }

    async start() {
      let sender = this.load("sender");
      if (!sender || !SENDER.test(sender)) { sender = randomToken(16); this.save("sender", sender); }
      this.sender = sender;
      this.uiLang = this.explicitLang || this.getAttribute("lang") || this.browserLanguage() || "ja";
      await this.loadStrings(this.uiLang);
      this.build();
      this.log.setAttribute("aria-busy", "true");
      await this.greet();
      const transcript = await this.fetchJson(`/api/v1/conversations/${this.bot}/${encodeURIComponent(this.sender)}`);
      if (transcript) { this.lastId = 0; this.restore(transcript.messages || []); }
      for (const item of this.outbox) this.showUser(item);
      this.log.removeAttribute("aria-busy");
      this.scrollDown();
      if (this.resumed) this.scrollIntoView({ block: "start" });
      this.dispatchEvent(new CustomEvent("yorisoi-ready", { bubbles: true, composed: true }));
      this.pollTimer = setInterval(() => this.poll(), POLL_MS);
      this.onVisible = () => { if (!document.hidden) this.poll(); };
      document.addEventListener("visibilitychange", this.onVisible);
      this.connect();
    }

    browserLanguage() {
      const codes = (navigator.languages || [navigator.language || ""]).map((c) => c.toLowerCase());
      for (const code of codes) {
        if (code.startsWith("zh")) return /hant|-tw|-hk|-mo/.test(code) ? "zh-Hant" : "zh-Hans";
        const base = code.split("-")[0];
        if (["ja", "en", "ko", "vi", "tl", "ne", "pt", "es", "id", "th", "my"].includes(base)) return base;
        if (base === "fil") return "tl";
      }
      return null;
    }

    async fetchJson(path, body) {
      try {
        const response = await fetch(this.base + path, body === undefined ? {} : {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
        });
        if (!response.ok) return null;
        return await response.json();
      } catch (_e) { return null; }
    }

    async loadStrings(lang) {
      const data = await this.fetchJson(`/api/v1/ui/${encodeURIComponent(lang)}`);
      if (!data) return;
      this.uiLang = data.language;
      this.strings = data.strings;
      this.languages = data.languages;
    }

    t(key, params) { return fill(this.strings[key] || key, params || {}); }
    botName() { return this.t(`bot.${this.bot}.name`); }

    build() {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      this.root.adoptedStyleSheets = [sheet];
      this.heading = el("h2", { id: "title" });
      this.langLabel = el("label", { for: "lang" });
      this.langSelect = el("select", { id: "lang" });
      for (const { code, name } of this.languages) this.langSelect.append(el("option", { value: code, lang: code, text: name }));
      this.langSelect.addEventListener("change", () => this.chooseLanguage(this.langSelect.value));
      this.newButton = el("button", { type: "button", class: "new" });
      this.newButton.addEventListener("click", () => this.newConversation());
      this.log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" });
      this.typing = el("p", { class: "status", role: "status" });
      this.connection = el("p", { class: "status", role: "status" });
      this.input = el("textarea", { id: "input", rows: "2", maxlength: "5000", autocomplete: "off" });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
      });
      this.inputLabel = el("label", { for: "input" });
      this.sendButton = el("button", { type: "submit", class: "send" });
      const form = el("form", {}, this.inputLabel, el("div", { class: "row" }, this.input, this.sendButton));
      form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
      this.section = el("section", { class: "chat", "aria-labelledby": "title" },
        el("header", {}, this.heading, el("div", { class: "tools" }, this.langLabel, this.langSelect, this.newButton)),
        this.log, this.typing, this.connection, form);
      this.root.append(this.section);
      this.applyStrings();
    }

    applyStrings() {
      this.section.setAttribute("lang", this.uiLang);
      this.heading.textContent = this.botName();
      this.langLabel.textContent = this.t("widget.language_label");
      this.langSelect.value = this.uiLang;
      this.newButton.textContent = this.t("widget.new_conversation");
      this.log.setAttribute("aria-label", this.t("widget.log_label"));
      this.inputLabel.textContent = this.t("widget.input_label");
      this.sendButton.textContent = this.t("widget.send");
      this.updateTyping();
      this.setStatus(this.statusKind);
    }

    async setUiLanguage(lang) {
      if (!lang || lang === this.uiLang) return;
      await this.loadStrings(lang);
      this.applyStrings();
    }

    async chooseLanguage(lang) {
      this.explicitLang = lang;
      this.save("lang", lang);
      await this.setUiLanguage(lang);
      if (!this.log.querySelector(".user, .staff")) { this.log.replaceChildren(); await this.greet(); }
    }

    async newConversation() {
      this.sender = randomToken(16);
      this.save("sender", this.sender);
      this.conversationLanguage = null;
      this._outbox = [];
      this.saveOutbox();
      this.inflight.clear();
      this.answered.clear();
      this.seen.clear();
      this.lastId = 0;
      if (this.ready && this.ws) this.ws.send(this.hello()); // pushes for the new conversation
      this.log.replaceChildren();
      this.updateTyping();
      await this.greet();
      this.connection.textContent = this.t("widget.new_conversation_done");
      this.input.focus();
    }

    async greet() {
      const data = await this.fetchJson("/api/v1/greeting", { bot: this.bot, sender: this.sender, lang: this.uiLang });
      if (data) for (const reply of data.replies) this.showReply(reply, this.uiLang);
    }

    restore(messages) {
      let language = null;
      for (const m of messages) {
        if (m.direction === "in") {
          if (m.client_id) {
            this.answered.add(m.client_id);
            const queued = this.outbox.findIndex((item) => item.id === m.client_id);
            if (queued >= 0 && m.status !== "received") { this.outbox.splice(queued, 1); this.saveOutbox(); }
            if (queued >= 0 && m.status === "received") { this.answered.delete(m.client_id); continue; }
          }
          this.showUser({ id: m.client_id, display: m.title || m.text });
        } else if (m.reply) {
          this.showReply(m.reply, m.language, m.role);
          language = m.language || language;
        }
        this.remember(m.id);
      }
      if (language) this.conversationLanguage = language;
      if (language && !this.explicitLang) this.setUiLanguage(language);
    }

    submit() {
      const text = this.input.value.trim();
      if (!text) { this.input.focus(); return; }
      this.input.value = "";
      this.send(text, null);
    }

    send(text, title) {
      // A button of the welcome pressed before the conversation has a language answers in the language
      // the button was shown in; typed text is left to the server's language detection.
      const lang = this.explicitLang || (title && !this.conversationLanguage ? this.uiLang : null);
      const item = { id: crypto.randomUUID ? crypto.randomUUID() : randomToken(16), text, title, lang };
      this.outbox.push(item);
      this.saveOutbox();
      this.showUser(item);
      this.flush();
    }

    showUser(item) {
      const node = el("div", { class: "msg user" + (item.id && !this.answered.has(item.id) ? " pending" : "") },
        el("span", { class: "speaker", text: this.t("widget.speaker_you") }),
        el("p", { text: item.title || item.display || item.text }));
      if (item.id) node.dataset.id = item.id;
      if (item.id && !this.answered.has(item.id)) node.append(el("span", { class: "state", text: this.t("widget.sending") }));
      this.log.append(node);
      this.scrollDown();
    }

    /** Note a stored message's id as shown; false if it was already. */
    remember(id) {
      if (typeof id !== "number" || this.seen.has(id)) return false;
      this.seen.add(id);
      this.lastId = Math.max(this.lastId || 0, id);
      return true;
    }

    /** Messages written outside a reply (staff, interpreters, notices, the rating question), each shown once. */
    pushed(messages) {
      let shown = 0;
      for (const m of messages || []) {
        if (!this.remember(m.id) || m.direction !== "out" || !m.reply) continue;
        this.showReply(m.reply, m.language, m.role);
        shown += 1;
      }
      if (shown) this.dispatchEvent(new CustomEvent("yorisoi-push", { bubbles: true, composed: true }));
    }

    /** "Staff · Sato": who wrote a staff or interpreter message (in the UI language). */
    speakerLabel(reply, role) {
      const label = this.t(role === "interpreter" ? "widget.speaker_interpreter" : "widget.speaker_staff");
      return reply.author ? `${label} · ${reply.author}` : label;
    }

    /** The "show original" button and the original it reveals. */
    original(reply) {
      const id = `original-${(this.uid += 1)}`;
      const box = el("div", { class: "original", id, hidden: true },
        el("p", { class: "mt", lang: this.uiLang, text: this.t("widget.original_label") }),
        el("p", { lang: reply.original_language || null, text: reply.original }));
      const button = el("button", { type: "button", class: "toggle", lang: this.uiLang, "aria-expanded": "false",
        "aria-controls": id, text: this.t("widget.show_original") });
      button.addEventListener("click", () => {
        const open = box.hidden;
        box.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        button.textContent = this.t(open ? "widget.hide_original" : "widget.show_original");
        if (open) box.scrollIntoView({ block: "nearest" });
      });
      return [button, box];
    }

    /** One reply; ``role`` staff/interpreter get a visible speaker label, system notices their own look. */
    showReply(reply, language, role) {
      const kind = role === "staff" || role === "interpreter" ? "staff" : role === "system" ? "system" : "bot";
      const node = el("div", { class: `msg ${kind}`, lang: language || null }, kind === "staff"
        ? el("p", { class: "who", lang: this.uiLang, text: this.speakerLabel(reply, role) })
        : el("span", { class: "speaker", text: this.botName() }));
      for (const part of sections(reply.text || "", reply.steps)) {
        if ("p" in part) node.append(el("p", { text: part.p }));
        else node.append(el("ol", { class: "steps", "aria-label": this.t("widget.steps_label") },
          ...part.steps.map((step) => el("li", { text: step }))));
      }
      if (reply.machine_translated) {
        node.append(el("p", { class: "mt", lang: this.uiLang, text: this.t("widget.machine_translated") }));
        if (reply.original && reply.original !== reply.text) node.append(...this.original(reply));
      }
      if (reply.image && safeUrl(reply.image)) node.append(el("img", { src: safeUrl(reply.image), alt: "" }));
      if (reply.links && reply.links.length) {
        const list = el("ul", { class: "links" });
        for (const link of reply.links) {
          const href = safeUrl(link.url);
          if (!href) { list.append(el("li", { text: link.title })); continue; }
          const anchor = el("a", { href, target: "_blank", rel: "noopener noreferrer" }, link.title + " ",
            el("span", { class: "speaker", text: this.t("widget.opens_new_tab") }));
          list.append(el("li", {}, anchor));
        }
        node.append(list);
      }
      for (const card of reply.cards || []) {
        const box = el("div", { class: "card" }, el("h3", { text: card.title }), el("p", { text: card.text }));
        if (card.image && safeUrl(card.image)) box.append(el("img", { src: safeUrl(card.image), alt: "" }));
        box.append(...this.buttonRow(card.buttons));
        node.append(box);
      }
      node.append(...this.buttonRow(reply.buttons));
      this.log.append(node);
      this.scrollDown();
    }

    /** The buttons as a row: [row], or [] without buttons (``append(null)`` would show "null"). */
    buttonRow(buttons) {
      if (!buttons || !buttons.length) return [];
      const row = el("div", { class: "buttons" });
      for (const button of buttons) {
        const node = el("button", { type: "button", text: button.title });
        node.addEventListener("click", () => this.send(button.payload, button.title));
        row.append(node);
      }
      return [row];
    }

    scrollDown() { if (this.log) this.log.scrollTop = this.log.scrollHeight; }

    updateTyping() {
      if (!this.typing) return;
      const waiting = this.outbox.length > 0 && this.statusKind !== "offline";
      this.typing.textContent = waiting ? this.t("widget.typing") : "";
    }

    setStatus(kind) {
      this.statusKind = kind;
      if (!this.connection) return;
      this.connection.classList.toggle("offline", kind === "offline");
      if (kind === "offline") this.connection.textContent = this.t("widget.offline");
      else if (kind === "online") this.connection.textContent = "";
      this.updateTyping();
    }

    // --- transport -------------------------------------------------------------------------

    connect() {
      if (this.closed) return;
      if (!("WebSocket" in window)) { this.failures = HTTP_AFTER_FAILURES; this.flush(); return; }
      const url = this.base.replace(/^http/, "ws") + "/ws/chat";
      let ready = false;
      let ws;
      try { ws = new WebSocket(url); } catch (_e) { this.connectionLost(); return; }
      this.ws = ws;
      ws.addEventListener("open", () => ws.send(this.hello()));
      ws.addEventListener("message", (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch (_e) { return; }
        if (frame.type === "ready") {
          ready = true;
          this.ready = true;
          this.failures = 0;
          this.delay = 500;
          this.setStatus("online");
          this.flush();
        } else if (frame.type === "reply") this.answer(frame);
        else if (frame.type === "push") this.pushed(frame.messages);
        else if (frame.type === "error") this.refused(frame);
      });
      ws.addEventListener("close", () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.ready = false;
        for (const [id, via] of this.inflight) if (via === ws) this.inflight.delete(id);
        if (!ready) this.failures += 1;
        this.connectionLost();
      });
    }

    /** The hello frame: pushes start after the newest message shown (null: from now). */
    hello() { return JSON.stringify({ type: "hello", bot: this.bot, sender: this.sender, after: this.lastId }); }

    /** Without a WebSocket: fetch what staff wrote over HTTP (every few seconds while the page is visible). */
    async poll() {
      if (this.closed || this.polling || this.ready || document.hidden || this.failures < HTTP_AFTER_FAILURES) return;
      this.polling = true;
      const sender = this.sender;
      const unknown = this.lastId === null;
      try {
        const data = await this.fetchJson(`/api/v1/conversations/${encodeURIComponent(this.bot)}/`
          + `${encodeURIComponent(sender)}/updates?channel=web&after=${this.lastId || 0}`);
        if (!data || sender !== this.sender) return;
        if (!unknown) { this.pushed(data.messages); return; }
        for (const m of data.messages || []) this.remember(m.id); // like the socket without "after": from now
        if (this.lastId === null) this.lastId = 0;
      } finally { this.polling = false; }
    }

    connectionLost() {
      if (this.closed) return;
      // After repeated failures messages go over HTTP; its answers decide what the status says.
      this.setStatus(this.failures >= HTTP_AFTER_FAILURES ? "online" : "offline");
      this.flush();
      clearTimeout(this.retryTimer);
      const wait = this.delay * (0.75 + Math.random() / 2);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    }

    /** Send every queued message that is not on its way (WebSocket when ready, else HTTP). */
    flush() {
      for (const item of this.outbox) {
        if (this.inflight.has(item.id)) continue;
        const frame = { id: item.id, bot: this.bot, sender: this.sender, text: item.text, lang: item.lang || null,
          title: item.title || null };
        if (this.ready && this.ws) {
          this.inflight.set(item.id, this.ws);
          this.ws.send(JSON.stringify(frame));
        } else if (this.failures >= HTTP_AFTER_FAILURES) {
          this.inflight.set(item.id, "http");
          this.postHttp(frame);
        }
      }
      this.updateTyping();
    }

    async postHttp(frame) {
      let response = null;
      try {
        response = await fetch(this.base + "/api/v1/messages", {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(frame),
        });
      } catch (_e) { response = null; }
      if (this.inflight.get(frame.id) === "http") this.inflight.delete(frame.id);
      if (response && response.ok) {
        const body = await response.json();
        this.setStatus("online");
        this.answer({ reply_to: frame.id, replies: body.replies, language: body.language, duplicate: body.duplicate });
      } else if (response && response.status >= 400 && response.status < 500) {
        let body = {};
        try { body = await response.json(); } catch (_e) { body = {}; }
        this.refused({ reply_to: frame.id, error: body.error || {} });
      } else {
        this.setStatus("offline");
      }
    }

    answer(frame) {
      const index = this.outbox.findIndex((item) => item.id === frame.reply_to);
      if (index >= 0) { this.outbox.splice(index, 1); this.saveOutbox(); }
      this.inflight.delete(frame.reply_to);
      this.updateTyping();
      if (this.answered.has(frame.reply_to)) return;
      this.answered.add(frame.reply_to);
      const mine = this.log.querySelector(`.user[data-id="${CSS_escape(frame.reply_to)}"]`);
      if (mine) { mine.classList.remove("pending"); const state = mine.querySelector(".state"); if (state) state.remove(); }
      for (const reply of frame.replies || []) this.showReply(reply, frame.language);
      if (frame.language) this.conversationLanguage = frame.language;
      if (!this.explicitLang && frame.language) this.setUiLanguage(frame.language);
      this.dispatchEvent(new CustomEvent("yorisoi-answer", { bubbles: true, composed: true, detail: { id: frame.reply_to } }));
    }

    refused(frame) {
      const index = this.outbox.findIndex((item) => item.id === frame.reply_to);
      if (index >= 0) { this.outbox.splice(index, 1); this.saveOutbox(); }
      this.inflight.delete(frame.reply_to);
      this.updateTyping();
      const mine = frame.reply_to && this.log.querySelector(`.user[data-id="${CSS_escape(frame.reply_to)}"]`);
      if (mine) { mine.classList.remove("pending"); mine.classList.add("failed"); const s = mine.querySelector(".state"); if (s) s.remove(); }
      const code = (frame.error && frame.error.code) || "";
      this.showReply({ text: this.t(code === "message_too_long" ? "widget.error_too_long" : "widget.error_generic") }, this.uiLang);
    }
  }

  function CSS_escape(value) { return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/"/g, '\\"'); }

  customElements.define("yorisoi-chat", YorisoiChat);
})();
