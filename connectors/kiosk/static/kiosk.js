/* Yorisoi kiosk screen: topic buttons, answers with furigana, guides one step per screen,
 * "call a helper", a QR code to continue on one's own phone, and an idle timeout that wipes
 * the screen and starts a new conversation (new sender id) for the next person.
 * The server renders all text as HTML (ruby for Japanese); this script only places it.
 * Once the visitor has said something, what city staff write to them is fetched with a long poll
 * (the server answers as soon as something is written, or after WAIT_S seconds with nothing) and
 * shown below the current screen (plain text, with who wrote it).
 */
(() => {
  "use strict";
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const state = {
    bot: body.dataset.bot,
    lang: body.dataset.lang,
    defaultLang: body.dataset.defaultLang,
    location: body.dataset.location || null,
    idle: Number(body.dataset.idle) * 1000,
    warning: Number(body.dataset.warning) * 1000,
    sender: null,
    ui: {},
    greeting: [],
    lastActivity: Date.now(),
    used: false,
    busy: false,
    resetting: false,
    listening: null, // the AbortController of the running long poll
    after: 0, // the newest staff message shown
    shown: new Set(),
  };
  const WAIT_S = 25; // how long the server may hold a request for updates
  const RETRY_MS = 2500; // the pause after an error, or between polls of a server that answers at once
  const SHEET = `
.pushed { margin: 0 0 22px; }
.pushed .card { background: #fffaf0; border-color: #9a6700; }
.pushed .system { background: #eef1f4; border-style: dashed; border-color: #57606a; }
.pushed .who { margin: 0 0 6px; font-weight: 700; color: #7a4d00; font-size: .9rem; }
.pushed .text { white-space: pre-line; line-height: 2.1; margin: 0 0 10px; }
.pushed .mt { font-size: .8rem; color: #4a4f55; margin: 0 0 10px; }
.pushed .original { border-inline-start: 6px solid #57606a; padding: 4px 16px; margin: 12px 0 0; background: #fff; }
.pushed .original[hidden] { display: none; }
.pushed .topics { margin: 12px 0 0; }
`;

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const data = new Uint8Array(16);
    crypto.getRandomValues(data);
    return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, className, html) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (html !== undefined) node.innerHTML = html; // server-rendered, escaped HTML (ruby for Japanese)
    return node;
  }

  /** The text of server HTML without its ruby readings. */
  function plain(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    for (const rt of doc.querySelectorAll("rt")) rt.remove();
    return doc.body.textContent || "";
  }
  function fill(template, params) { return template.replace(/\{([a-z_]+)\}/g, (m, k) => (k in params ? String(params[k]) : m)); }

  async function api(path, payload) {
    const response = await fetch(path, payload === undefined ? {} : {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }

  // --- texts and languages -----------------------------------------------------------------

  async function loadUi(lang) {
    const data = await api(`/kiosk/api/ui/${encodeURIComponent(lang)}`);
    state.ui = data.strings;
    document.documentElement.lang = lang;
    body.dataset.lang = lang;
    for (const node of document.querySelectorAll("[data-ui]")) {
      if (!(node.dataset.ui in state.ui)) continue;
      node.innerHTML = state.ui[node.dataset.ui];
    }
    for (const node of document.querySelectorAll("[data-ui-alt]")) node.alt = plain(state.ui[node.dataset.uiAlt] || "");
    for (const button of document.querySelectorAll("button.lang[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    }
    document.title = plain(state.ui[`bot.${state.bot}.name`] || document.title);
  }

  async function setLanguage(lang) {
    if (state.busy) return;
    state.busy = true;
    try {
      state.lang = lang;
      await loadUi(lang);
      const data = await api("/kiosk/api/greeting", { bot: state.bot, sender: state.sender, lang });
      renderHome(data.replies);
      show("home");
    } catch (_e) { status(state.ui["kiosk.error"], true); }
    finally { state.busy = false; }
  }

  // --- screens -----------------------------------------------------------------------------

  /** Show one screen; ``focus``: move the focus to its heading (after a visitor's action, not on start). */
  function show(name, focus = true) {
    for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== name;
    const heading = $(name).querySelector("h2");
    if (heading && focus) heading.focus({ preventScroll: true });
    document.querySelector(".body").scrollTop = 0;
    body.dataset.screen = name;
  }

  function status(html, isError) {
    const node = $("status");
    node.innerHTML = html || "";
    node.classList.toggle("error", Boolean(isError));
  }

  function topicButton(button) {
    const node = el("button", "topic", button.html);
    node.type = "button";
    node.dataset.payload = button.payload;
    node.addEventListener("click", () => send(button.payload, button));
    return node;
  }

  function renderHome(replies) {
    state.greeting = replies;
    const greeting = $("greeting");
    const topics = $("topics");
    greeting.replaceChildren();
    topics.replaceChildren();
    for (const reply of replies) {
      if (reply.html) greeting.append(el("p", "", reply.html));
      for (const button of reply.buttons) topics.append(topicButton(button));
    }
  }

  function renderAnswer(titleHtml, replies) {
    $("question").innerHTML = titleHtml;
    const box = $("replies");
    const related = $("related");
    box.replaceChildren();
    related.replaceChildren();
    for (const reply of replies) {
      if (reply.steps_html && reply.steps_html.length) box.append(guide(reply));
      else if (reply.html) box.append(el("div", "reply", reply.html));
      for (const card of reply.cards || []) {
        const node = el("div", "card");
        node.append(el("h3", "", card.title_html), el("p", "", card.html));
        for (const button of card.buttons) node.append(topicButton(button));
        box.append(node);
      }
      if (reply.links && reply.links.length) {
        const links = el("div", "links");
        links.append(el("h3", "", state.ui["kiosk.links_heading"]));
        const list = el("ul");
        for (const link of reply.links) {
          const item = el("li");
          item.append(el("span", "", ""), document.createTextNode(" "), el("span", "url", ""));
          item.firstChild.textContent = link.title;
          item.lastChild.textContent = link.url;
          list.append(item);
        }
        links.append(list);
        box.append(links);
      }
      for (const button of reply.buttons) related.append(topicButton(button));
    }
  }

  /** A guide: the introduction, then one step per screen with back / next. */
  function guide(reply) {
    const node = el("div", "guide");
    if (reply.html) node.append(el("div", "reply", reply.html));
    const count = el("p", "step-count");
    count.setAttribute("aria-live", "polite");
    const step = el("div", "step");
    const outro = el("div", "outro", reply.outro_html || "");
    const back = el("button", "secondary back", state.ui["kiosk.back"]);
    const next = el("button", "primary next", state.ui["kiosk.next"]);
    back.type = next.type = "button";
    const nav = el("div", "step-nav");
    nav.append(back, next);
    node.append(count, step, nav, outro);
    const total = reply.steps_html.length;
    let index = 0;
    function render() {
      count.textContent = fill(plain(state.ui["kiosk.step_of"]), { n: index + 1, total });
      step.innerHTML = reply.steps_html[index];
      back.classList.toggle("invisible", index === 0);
      next.classList.toggle("invisible", index === total - 1);
      back.setAttribute("aria-hidden", String(index === 0));
      next.setAttribute("aria-hidden", String(index === total - 1));
      back.tabIndex = index === 0 ? -1 : 0;
      next.tabIndex = index === total - 1 ? -1 : 0;
      outro.hidden = index !== total - 1 || !reply.outro_html;
      node.dataset.step = String(index + 1);
      if (document.activeElement === next && index === total - 1) back.focus();
      if (document.activeElement === back && index === 0) next.focus();
    }
    back.addEventListener("click", () => { if (index > 0) { index -= 1; render(); } });
    next.addEventListener("click", () => { if (index < total - 1) { index += 1; render(); } });
    render();
    return node;
  }

  // --- talking to the server ---------------------------------------------------------------

  async function send(text, button) {
    if (state.busy || !state.sender) return;
    state.busy = true;
    status(state.ui["kiosk.waiting"]);
    try {
      const data = await api("/kiosk/api/message", {
        bot: state.bot, sender: state.sender, text, lang: state.lang, id: randomId(), title: button ? button.title : null,
        location: state.location,
      });
      status("");
      renderAnswer(button ? button.html : escapeHtml(text), data.replies);
      show("answer");
      startPolling();
    } catch (_e) { status(state.ui["kiosk.error"], true); }
    finally { state.busy = false; }
  }

  // --- messages from staff (a long poll while the visitor's conversation exists) -------------

  /** The log below the screens that shows what staff write (made once; empty and hidden until they do). */
  function pushedLog() {
    let log = $("pushed");
    if (log) return log;
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(SHEET);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    log = el("div", "pushed");
    log.id = "pushed";
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.hidden = true;
    $("status").before(log);
    return log;
  }

  /** One message from staff, an interpreter or the desk (a notice, the rating question with its buttons). */
  function showPushed(message) {
    const reply = message.reply || { text: message.text };
    const staff = message.role === "staff" || message.role === "interpreter";
    const node = el("div", staff ? "card staff" : "card system");
    if (message.language) node.lang = message.language;
    if (staff) {
      const who = el("p", "who", state.ui[message.role === "interpreter" ? "widget.speaker_interpreter" : "widget.speaker_staff"]);
      who.lang = state.lang;
      if (reply.author) who.append(document.createTextNode(` · ${reply.author}`));
      node.append(who);
    }
    const text = el("p", "text");
    // The server's rendering adds furigana (escaped HTML with <ruby>), as for the bot's answers.
    if (message.rendered) text.innerHTML = message.rendered.html; else text.textContent = reply.text || "";
    node.append(text);
    if (reply.machine_translated) {
      const note = el("p", "mt", state.ui["widget.machine_translated"]);
      note.lang = state.lang;
      node.append(note);
      if (reply.original && reply.original !== reply.text) node.append(...originalToggle(reply, message.id));
    }
    if (reply.buttons && reply.buttons.length) {
      const row = el("div", "topics");
      const buttons = message.rendered ? message.rendered.buttons
        : reply.buttons.map((b) => ({ title: b.title, html: escapeHtml(b.title), payload: b.payload }));
      for (const b of buttons) row.append(topicButton(b));
      node.append(row);
    }
    const log = pushedLog();
    log.hidden = false;
    log.append(node);
    node.scrollIntoView({ block: "nearest" });
  }

  /** The "show original" button and the original (as staff wrote it) it reveals. */
  function originalToggle(reply, id) {
    const box = el("div", "original");
    box.id = `original-${id}`;
    box.hidden = true;
    const label = el("p", "mt", state.ui["widget.original_label"]);
    const text = el("p", "text");
    text.textContent = reply.original;
    if (reply.original_language) text.lang = reply.original_language;
    box.append(label, text);
    const button = el("button", "secondary", state.ui["widget.show_original"]);
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", box.id);
    button.addEventListener("click", () => {
      const open = box.hidden;
      box.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      button.innerHTML = state.ui[open ? "widget.hide_original" : "widget.show_original"];
      if (open) box.scrollIntoView({ block: "nearest" });
    });
    return [button, box];
  }

  function pause(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  /** Ask for the visitor's new messages again and again until the screen is wiped (``controller`` aborted). */
  async function listen(controller) {
    const sender = state.sender;
    const { signal } = controller;
    while (!signal.aborted && sender === state.sender) {
      const started = Date.now();
      let rest = false;
      try {
        const response = await fetch(`/kiosk/api/updates?bot=${encodeURIComponent(state.bot)}`
          + `&sender=${encodeURIComponent(sender)}&after=${state.after}&wait=${WAIT_S}`, { signal });
        if (!response.ok) throw new Error(`updates: ${response.status}`);
        const data = await response.json();
        if (signal.aborted || sender !== state.sender) return; // the screen was wiped meanwhile
        const messages = data.messages || [];
        for (const message of messages) {
          if (state.shown.has(message.id)) continue;
          state.shown.add(message.id);
          state.after = Math.max(state.after, message.id);
          if (message.direction === "out") showPushed(message);
        }
        // A server without live wake-ups answers at once: poll it at a gentle pace instead.
        rest = messages.length === 0 && Date.now() - started < 1000;
      } catch (_e) {
        if (signal.aborted) return;
        rest = true; // offline or the server restarts: try again shortly
      }
      if (rest) await pause(RETRY_MS, signal);
    }
  }

  function startPolling() {
    if (state.listening || !state.sender) return;
    state.listening = new AbortController();
    listen(state.listening);
  }

  function stopPolling() {
    if (state.listening) state.listening.abort();
    state.listening = null;
    state.after = 0;
    state.shown.clear();
    const log = $("pushed");
    if (log) { log.replaceChildren(); log.hidden = true; }
  }

  function escapeHtml(text) { const node = document.createElement("span"); node.textContent = text; return node.innerHTML; }

  async function callHelper() {
    if (state.busy || !state.sender) return;
    state.busy = true;
    status(state.ui["kiosk.waiting"]);
    try {
      const data = await api("/kiosk/api/helper", {
        bot: state.bot, sender: state.sender, lang: state.lang, id: randomId(), location: state.location,
        title: plain(state.ui["kiosk.call_helper"]),
      });
      status("");
      const text = $("helper-text");
      text.replaceChildren(...data.replies.map((reply) => el("p", "", reply.html)));
      show("helper");
      startPolling();
    } catch (_e) { status(state.ui["kiosk.error"], true); }
    finally { state.busy = false; }
  }

  async function startSession() {
    const data = await api("/kiosk/api/session", { bot: state.bot, lang: state.lang });
    state.sender = data.sender;
    const qr = $("qr");
    qr.src = data.qr;
    qr.hidden = false;
    renderHome(data.replies);
    show("home", false);
  }

  /** Wipe everything the last person saw and start a new conversation for the next one. */
  async function reset() {
    if (state.resetting) return;
    state.resetting = true;
    hideIdle();
    if (document.activeElement && document.activeElement !== body) document.activeElement.blur();
    const previous = state.sender;
    state.sender = null;
    stopPolling();
    if (previous) {
      fetch("/kiosk/api/end", { method: "POST", keepalive: true, headers: { "content-type": "application/json" },
        body: JSON.stringify({ bot: state.bot, sender: previous }) }).catch(() => {});
    }
    for (const id of ["greeting", "topics", "replies", "related", "helper-text", "question"]) $(id).replaceChildren();
    $("ask-input").value = "";
    $("qr").hidden = true;
    $("qr").removeAttribute("src");
    status("");
    state.lang = state.defaultLang;
    try {
      await loadUi(state.lang);
      await startSession();
    } catch (_e) { status(state.ui["kiosk.error"], true); }
    state.used = false;
    state.busy = false;
    state.lastActivity = Date.now();
    state.resetting = false;
    body.dataset.resets = String(Number(body.dataset.resets || "0") + 1);
    document.dispatchEvent(new CustomEvent("yorisoi-kiosk-reset"));
  }

  // --- idle timeout ------------------------------------------------------------------------

  function activity() {
    state.lastActivity = Date.now();
    state.used = true;
    if (!$("idle").hidden) hideIdle();
  }

  function hideIdle() {
    const overlay = $("idle");
    if (overlay.hidden) return;
    overlay.hidden = true;
    if (state.returnFocus && document.contains(state.returnFocus)) state.returnFocus.focus();
  }

  function tick() {
    if (!state.used || state.resetting) return;
    const remaining = state.idle - (Date.now() - state.lastActivity);
    if (remaining <= 0) { reset(); return; }
    if (remaining <= state.warning) {
      const overlay = $("idle");
      $("idle-text").textContent = fill(plain(state.ui["kiosk.idle_warning"]), { seconds: Math.ceil(remaining / 1000) });
      if (overlay.hidden) {
        state.returnFocus = document.activeElement;
        overlay.hidden = false;
        $("continue-button").focus();
      }
    }
  }

  // --- wiring ------------------------------------------------------------------------------

  for (const type of ["pointerdown", "keydown", "touchstart", "wheel"]) {
    document.addEventListener(type, activity, { capture: true, passive: true });
  }
  for (const button of document.querySelectorAll("button.lang[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  const more = $("more-languages");
  if (more) more.addEventListener("click", () => show("languages"));
  $("home-button").addEventListener("click", () => show("home"));
  $("helper-button").addEventListener("click", callHelper);
  $("finish-button").addEventListener("click", reset);
  $("continue-button").addEventListener("click", hideIdle);
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("ask-input").value.trim();
    if (!text) return;
    $("ask-input").value = "";
    send(text, null);
  });
  setInterval(tick, 250);
  loadUi(state.lang).then(startSession).catch(() => status(state.ui["kiosk.error"] || "", true));
})();
