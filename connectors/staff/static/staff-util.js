/* Yorisoi staff console: helpers shared by the queue (staff-console.js) and the room (staff-room.js).
 * The page's texts come from the catalog (<script type="application/json" id="staff-data">).
 */

const DATA = JSON.parse(document.getElementById("staff-data").textContent);

/** The page language (ja or en). */
export const LANG = DATA.lang;
/** Statuses of handoffs still open (the others are closed). */
export const OPEN = new Set(["queued", "active", "callback"]);
/** Seconds of waiting after which a row is marked. */
export const LONG_WAIT_SECONDS = 5 * 60;

/** Fill ``{name}`` parameters. */
export function fill(template, params) {
  return String(template).replace(/\{([a-z_]+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
}

/** The catalog text of ``key`` (the key itself when missing: visible, never blank). */
export function t(key, params) {
  return fill(key in DATA.strings ? DATA.strings[key] : key, params || {});
}

/** Whether the catalog has ``key``. */
export function has(key) {
  return key in DATA.strings;
}

/** A language's own name (its code when unknown). */
export function languageName(code) {
  return (code && DATA.languages[code]) || code || "";
}

/** A bot's name in the page language (the server's Japanese name as a fallback). */
export function botName(handoff) {
  const key = `bot.${handoff.bot}.name`;
  return has(key) ? t(key) : handoff.bot_name || handoff.bot;
}

/** ``document.getElementById``. */
export const $ = (id) => document.getElementById(id);

/** A new element: attrs (class, text, hidden, other attributes) and children. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "hidden") node.hidden = true;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** An API error: HTTP status and the server's error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** Call the JSON API (the session cookie authenticates); ApiError for a non-2xx answer. */
export async function api(method, path, body) {
  const options = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new ApiError(0, "network", String(error));
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
  if (!response.ok) {
    const problem = (data && data.error) || {};
    throw new ApiError(response.status, problem.code || "http_error", problem.message);
  }
  return data;
}

/** The catalog's message for an API error (never the server's text: it is English and technical). */
export function errorText(error) {
  const code = error && error.code;
  if (code && has(`staff.error.${code}`)) return t(`staff.error.${code}`);
  if (error && error.status === 401) return t("staff.error.unauthorized");
  if (error && error.status === 403) return t("staff.error.forbidden");
  return t("staff.error.generic");
}

/** A waiting time: "mm:ss" below an hour, else "N時間M分" / "N h M min". */
export function formatWait(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  if (total >= 3600) {
    return t("staff.wait_hours", { hours: Math.floor(total / 3600), minutes: Math.floor((total % 3600) / 60) });
  }
  const minutes = String(Math.floor(total / 60)).padStart(2, "0");
  return `${minutes}:${String(total % 60).padStart(2, "0")}`;
}

/** A time of day in the page language (with the date when it is not today). */
export function formatTime(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const options = { hour: "2-digit", minute: "2-digit" };
  if (moment.toDateString() !== new Date().toDateString()) Object.assign(options, { month: "numeric", day: "numeric" });
  return moment.toLocaleString(LANG, options);
}

/** "a（b）" in Japanese, "a (b)" in English. */
export function paren(a, b) {
  return LANG === "ja" ? `${a}（${b}）` : `${a} (${b})`;
}

/** Items joined as the page language lists them ("a、b" / "a, b"). */
export function joinList(items) {
  return items.join(LANG === "ja" ? "、" : ", ");
}

/** Say ``text`` to screen readers (the polite status region). */
export function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

/** Labels typed as "a, b、c" → ["a", "b", "c"]. */
export function parseLabels(text) {
  return [...new Set(String(text).split(/[,、，;；]/).map((s) => s.trim()).filter(Boolean))];
}
