/* Yorisoi staff console: login, the handoff queue and live updates (an ES module, no build step).
 *
 * Logged out the page shows the login form; logged in, the queue (GET /api/v1/handoffs) and the
 * open room (staff-room.js). WS /ws/staff says {"type": "changed"} whenever anything changes and
 * the page refetches; when the socket fails it polls every 5 s and keeps trying to reconnect.
 * Waiting times tick every second in the browser between fetches.
 */
import {
  $, LONG_WAIT_SECONDS, OPEN, announce, api, botName, el, errorText, formatWait, has, languageName, t,
} from "./staff-util.js";
import { createRoom } from "./staff-room.js";

const POLL_MS = 5000;
const RECONNECT_MS = [2000, 5000, 10000, 30000];
const TITLE = document.title;

const state = {
  user: null,
  handoffs: [],
  fetchedAt: 0,
  known: null, // ids seen so far (null before the first fetch: nothing is "new" then)
  socket: null,
  failures: 0,
  pollTimer: null,
  reconnectTimer: null,
  tickTimer: null,
  refreshing: null,
  again: false,
};

const room = createRoom({
  user: () => state.user,
  refresh: () => refresh(),
  unauthorized: () => showLogin(t("staff.error.unauthorized")),
});

// --- login and logout ------------------------------------------------------------------------

function showLogin(message) {
  stopLive();
  state.user = null;
  state.handoffs = [];
  state.known = null;
  room.reset();
  $("console-view").hidden = true;
  $("who").hidden = true;
  $("logout").hidden = true;
  if ($("nav")) $("nav").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  document.title = TITLE;
  $("password").value = "";
  if (message) $("login-heading").focus(); else $("username").focus();
}

function showConsole(user) {
  state.user = user;
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("who").textContent = t("staff.logged_in_as", { name: user.display_name, role: t(`staff.role.${user.role}`) });
  $("who").hidden = false;
  $("logout").hidden = false;
  if ($("nav")) $("nav").hidden = user.role !== "admin"; // broadcasts are for admins only
  document.body.dataset.role = user.role;
  startLive();
  refresh();
}

async function login(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  $("login-error").textContent = "";
  if (!username || !password) {
    $("login-error").textContent = t("staff.login_failed");
    return;
  }
  try {
    const data = await api("POST", "/api/v1/auth/login", { username, password });
    $("password").value = "";
    showConsole(data.user);
    $("queue-heading").focus();
  } catch (error) {
    const wrong = error.status === 401 || error.status === 422;
    const locked = error.status === 429;
    $("login-error").textContent = locked ? t("staff.login_locked")
      : wrong ? t("staff.login_failed") : t("staff.login_error");
    $("password").value = "";
    $("password").focus();
  }
}

async function logout() {
  try { await api("POST", "/api/v1/auth/logout"); } catch (error) { /* logged out locally all the same */ }
  showLogin("");
}

// --- the queue -------------------------------------------------------------------------------

function waited(handoff) {
  const ticking = handoff.status === "queued" || handoff.status === "callback";
  return handoff.waiting_seconds + (ticking ? (Date.now() - state.fetchedAt) / 1000 : 0);
}

function visible(handoff) {
  const filter = $("filter").value;
  if (filter === "mine") {
    const me = state.user.username;
    return (handoff.assigned_to && handoff.assigned_to.username === me)
      || (handoff.participants || []).some((p) => p.username === me);
  }
  if (filter === "open") return true;
  return handoff.status === filter;
}

function waitLine(handoff) {
  const seconds = waited(handoff);
  const long = OPEN.has(handoff.status) && handoff.status !== "active" && seconds > LONG_WAIT_SECONDS;
  return { text: t("staff.waiting", { time: formatWait(seconds) }), long };
}

function queueItem(handoff) {
  const wait = waitLine(handoff);
  const assigned = handoff.assigned_to
    ? (handoff.assigned_to.username === state.user.username ? t("staff.assigned_to_you")
      : t("staff.assigned_to", { name: handoff.assigned_to.display_name }))
    : t("staff.unassigned");
  const reason = [t(`staff.reason.${handoff.reason}`), handoff.kind === "interpreter" ? t("staff.kind.interpreter") : ""]
    .filter(Boolean).join(" / ");
  const button = el("button", {
    type: "button", class: `ticket ${handoff.status}${wait.long ? " long-wait" : ""}`, "data-id": handoff.id,
    "aria-current": room.id === handoff.id ? "true" : null,
  },
  el("span", { class: "line first" },
    el("span", { class: "language", lang: handoff.language, text: handoff.language_name || languageName(handoff.language) }),
    el("span", { class: `status ${handoff.status}`, text: has(`staff.status.${handoff.status}`)
      ? t(`staff.status.${handoff.status}`) : handoff.status })),
  el("span", { class: "line", text: `${botName(handoff)}・#${handoff.id}` }),
  el("span", { class: "line muted", text: reason }),
  el("span", { class: "line" },
    el("span", { class: "wait", "data-id": handoff.id, text: wait.text }),
    el("span", { class: "marker", text: wait.long ? `⚠ ${t("staff.long_wait")}` : "" })),
  el("span", { class: "line muted", text: assigned }));
  if (handoff.ticket) button.append(el("span", { class: "line cb-line", text: t("staff.ticket", { ticket: handoff.ticket }) }));
  if (handoff.callback_phone) {
    button.append(el("span", { class: "line cb-line", text: t("staff.callback_phone", { phone: handoff.callback_phone }) }));
  }
  if (handoff.callback_message) {
    button.append(el("span", { class: "line cb-line message",
      text: t("staff.callback_message", { message: handoff.callback_message }) }));
  }
  if (handoff.location) button.append(el("span", { class: "line muted", text: t("staff.location", { location: handoff.location }) }));
  if (handoff.labels && handoff.labels.length) {
    button.append(el("span", { class: "line labels" }, ...handoff.labels.map((l) => el("span", { class: "label", text: l }))));
  }
  return el("li", {}, button);
}

function renderQueue() {
  const list = $("queue");
  const focusedId = document.activeElement && document.activeElement.closest("#queue")
    ? document.activeElement.dataset.id : null;
  const shown = state.handoffs.filter(visible);
  list.replaceChildren(...shown.map(queueItem));
  $("queue-empty").hidden = shown.length > 0;
  const waiting = state.handoffs.filter((h) => h.status === "queued").length;
  $("queue-count").textContent = `(${shown.length})`;
  document.title = waiting ? t("staff.title_waiting", { count: waiting, title: TITLE }) : TITLE;
  if (focusedId) {
    const again = list.querySelector(`button[data-id="${focusedId}"]`);
    if (again) again.focus();
  }
}

function tick() {
  for (const handoff of state.handoffs) {
    if (handoff.status !== "queued" && handoff.status !== "callback") continue;
    const node = $("queue").querySelector(`.wait[data-id="${handoff.id}"]`);
    if (!node) continue;
    const wait = waitLine(handoff);
    node.textContent = wait.text;
    const button = node.closest("button");
    button.classList.toggle("long-wait", wait.long);
    button.querySelector(".marker").textContent = wait.long ? `⚠ ${t("staff.long_wait")}` : "";
  }
}

async function loadQueue() {
  const closed = $("show-closed").checked ? "?include_closed=true" : "";
  const data = await api("GET", `/api/v1/handoffs${closed}`);
  const handoffs = data.handoffs;
  if (state.known !== null) {
    for (const handoff of handoffs) {
      if (!state.known.has(handoff.id) && OPEN.has(handoff.status)) {
        announce(t("staff.new_request", { language: handoff.language_name, bot: botName(handoff) }));
      }
    }
  }
  state.known = new Set([...(state.known || []), ...handoffs.map((h) => h.id)]);
  state.handoffs = handoffs;
  state.fetchedAt = Date.now();
  renderQueue();
}

/** Refetch the queue and the open room; calls during a refresh run once more after it. */
function refresh() {
  if (!state.user) return Promise.resolve();
  if (state.refreshing) {
    state.again = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    try {
      do {
        state.again = false;
        await Promise.all([loadQueue(), room.refresh()]);
      } while (state.again && state.user);
    } catch (error) {
      if (error.status === 401) showLogin(t("staff.error.unauthorized"));
      else $("connection").textContent = errorText(error);
    } finally {
      state.refreshing = null;
    }
  })();
  return state.refreshing;
}

// --- live updates ------------------------------------------------------------------------------

function startLive() {
  stopLive();
  state.tickTimer = window.setInterval(tick, 1000);
  connect();
}

function stopLive() {
  window.clearInterval(state.tickTimer);
  window.clearInterval(state.pollTimer);
  window.clearTimeout(state.reconnectTimer);
  state.tickTimer = state.pollTimer = state.reconnectTimer = null;
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close(1000);
  }
}

function startPolling() {
  $("connection").textContent = t("staff.polling");
  if (state.pollTimer === null) state.pollTimer = window.setInterval(refresh, POLL_MS);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let socket;
  try {
    socket = new WebSocket(`${scheme}://${location.host}/ws/staff`);
  } catch (error) {
    startPolling();
    return;
  }
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.failures = 0;
    window.clearInterval(state.pollTimer);
    state.pollTimer = null;
    $("connection").textContent = t("staff.live");
  });
  socket.addEventListener("message", (event) => {
    let frame = null;
    try { frame = JSON.parse(event.data); } catch (error) { return; }
    if (frame && frame.type === "changed") refresh();
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket || !state.user) return; // closed on purpose
    state.socket = null;
    startPolling();
    refresh(); // a 401 here means the session ended: back to the login form
    const delay = RECONNECT_MS[Math.min(state.failures, RECONNECT_MS.length - 1)];
    state.failures += 1;
    state.reconnectTimer = window.setTimeout(() => { if (state.user) connect(); }, delay);
  });
}

// --- start -----------------------------------------------------------------------------------

function openFromQueue(event) {
  const button = event.target.closest("button.ticket");
  if (!button) return;
  for (const other of $("queue").querySelectorAll("button.ticket[aria-current]")) other.removeAttribute("aria-current");
  button.setAttribute("aria-current", "true");
  room.open(Number(button.dataset.id));
}

function moveInQueue(event) {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const buttons = [...$("queue").querySelectorAll("button.ticket")];
  const index = buttons.indexOf(document.activeElement);
  if (index < 0) return;
  event.preventDefault();
  const next = buttons[Math.max(0, Math.min(buttons.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)))];
  next.focus();
}

async function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("queue").addEventListener("click", openFromQueue);
  $("queue").addEventListener("keydown", moveInQueue);
  $("filter").addEventListener("change", renderQueue);
  $("show-closed").addEventListener("change", refresh);
  try {
    const data = await api("GET", "/api/v1/auth/me");
    showConsole(data.user);
  } catch (error) {
    showLogin(error.status === 401 ? "" : errorText(error));
  }
}

start();
