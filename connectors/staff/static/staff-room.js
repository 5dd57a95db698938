/* Yorisoi staff console: one conversation ("room") — the messages in the reader's language with the
 * original a tap away, replies (free text or canned), interpreters, private notes, labels, resolving.
 * Messages are appended by id, so a live refresh announces only the new ones (aria-live).
 */
import {
  $, OPEN, announce, api, botName, el, errorText, formatTime, formatWait, has, joinList, languageName, paren,
  parseLabels, t,
} from "./staff-util.js";

const SPEAKERS = new Set(["resident", "bot", "staff", "interpreter", "system"]);

/** The room panel; ``app`` gives ``user()``, ``refresh()`` and ``unauthorized()``. */
export function createRoom(app) {
  const room = { id: null, data: null, shown: new Set(), interpretersOf: null, cannedLoaded: false, busy: false };
  const messages = $("messages");

  function isStaff() { return app.user() && app.user().role !== "interpreter"; }
  function mine(handoff) {
    return Boolean(handoff.assigned_to && handoff.assigned_to.username === app.user().username);
  }
  function canWrite(handoff) {
    if (!OPEN.has(handoff.status)) return false;
    const role = app.user().role;
    return role === "interpreter" || role === "admin" || mine(handoff);
  }

  function showError(error) {
    if (error && error.status === 401) { app.unauthorized(); return; }
    $("room-error").textContent = errorText(error);
  }

  /** Run an action; errors go to the room's alert, success refreshes queue and room. */
  async function act(action, success) {
    if (room.busy) return false;
    room.busy = true;
    $("room-error").textContent = "";
    try {
      await action();
      if (success) announce(success);
      await app.refresh();
      return true;
    } catch (error) {
      showError(error);
      return false;
    } finally {
      room.busy = false;
    }
  }

  // --- rendering ----------------------------------------------------------------------------

  function speakerOf(message) {
    const role = SPEAKERS.has(message.role) ? message.role : "system";
    const label = t(`staff.speaker.${role}`);
    return message.author ? t("staff.speaker_named", { role: label, name: message.author }) : label;
  }

  function messageItem(message) {
    const role = SPEAKERS.has(message.role) ? message.role : "system";
    const head = el("div", { class: "msg-head" },
      el("span", { class: "speaker", text: speakerOf(message) }),
      el("time", { datetime: message.created_at, text: formatTime(message.created_at) }));
    if (message.machine_translated) head.append(el("span", { class: "badge mt", text: t("staff.machine_translated") }));
    else if (message.translation_available === false && message.language !== app.user().language) {
      head.append(el("span", { class: "badge untranslated", text: t("staff.not_translated") }));
    }
    const item = el("li", { class: `msg ${role}`, "data-id": message.id }, head,
      el("p", { class: "text", lang: message.language || null, text: message.text }));
    if (message.original && message.original !== message.text) {
      const box = `original-${message.id}`;
      const toggle = el("button", {
        type: "button", class: "link original-toggle", "aria-expanded": "false", "aria-controls": box,
        text: t("staff.show_original"),
      });
      const original = el("div", { class: "original", id: box, hidden: true },
        el("span", { class: "original-label", text: t("staff.original", { language: languageName(message.original_language) }) }),
        el("p", { lang: message.original_language || null, text: message.original }));
      toggle.addEventListener("click", () => {
        const open = original.hidden;
        original.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = t(open ? "staff.hide_original" : "staff.show_original");
      });
      item.append(toggle, original);
    }
    if (message.buttons && message.buttons.length) {
      item.append(el("ul", { class: "offered", lang: message.language || null },
        ...message.buttons.map((button) => el("li", { text: button.title }))));
    }
    return item;
  }

  function renderMessages(list, fresh) {
    const box = messages.parentElement;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (fresh) {
      messages.setAttribute("aria-live", "off"); // a newly opened room is not read out message by message
      messages.replaceChildren();
      room.shown.clear();
    }
    let latest = null;
    for (const message of list) {
      if (room.shown.has(message.id)) continue;
      room.shown.add(message.id);
      messages.append(messageItem(message));
      latest = message;
    }
    if (fresh) window.setTimeout(() => messages.setAttribute("aria-live", "polite"), 100);
    if (fresh || atBottom || (latest && latest.role !== "resident")) box.scrollTop = box.scrollHeight;
  }

  function metaRow(term, ...values) {
    return [el("dt", { text: term }), el("dd", {}, ...values)];
  }

  function renderMeta(handoff) {
    const rows = [
      ...metaRow(t("staff.meta.status"), el("span", { class: `status ${handoff.status}`, text: t(`staff.status.${handoff.status}`) }),
        OPEN.has(handoff.status) && handoff.status !== "active"
          ? ` ${t("staff.waiting", { time: formatWait(handoff.waiting_seconds) })}` : ""),
      ...metaRow(t("staff.meta.reason"), [t(`staff.reason.${handoff.reason}`),
        handoff.kind === "interpreter" ? t("staff.kind.interpreter") : ""].filter(Boolean).join(" / ")),
      ...metaRow(t("staff.meta.channel"), has(`staff.channel.${handoff.channel}`) ? t(`staff.channel.${handoff.channel}`)
        : handoff.channel, handoff.location ? ` / ${t("staff.location", { location: handoff.location })}` : ""),
      ...metaRow(t("staff.meta.assigned"), handoff.assigned_to ? handoff.assigned_to.display_name : t("staff.unassigned")),
    ];
    const people = (handoff.participants || []).map((p) => `${t(`staff.speaker.${p.role}`)}: ${p.display_name || p.username}`);
    if (people.length) rows.push(...metaRow(t("staff.meta.participants"), joinList(people)));
    if (handoff.ticket || handoff.callback_phone || handoff.callback_message) {
      const parts = [handoff.ticket && t("staff.ticket", { ticket: handoff.ticket }),
        handoff.callback_phone && t("staff.callback_phone", { phone: handoff.callback_phone }),
        handoff.callback_message && t("staff.callback_message", { message: handoff.callback_message })].filter(Boolean);
      rows.push(...metaRow(t("staff.meta.callback"), ...parts.map((text) => el("span", { class: "line", text }))));
    }
    rows.push(...metaRow(t("staff.meta.labels"), handoff.labels.length
      ? el("span", { class: "labels" }, ...handoff.labels.map((label) => el("span", { class: "label", text: label })))
      : t("staff.no_labels")));
    $("room-meta").replaceChildren(...rows);
  }

  function renderNotes(notes) {
    $("notes").replaceChildren(...(notes.length ? notes.map((note) => el("li", {},
      el("p", { class: "note-head" }, el("span", { class: "speaker", text: note.author || "" }), " ",
        el("time", { datetime: note.created_at, text: formatTime(note.created_at) })),
      el("p", { class: "text", text: note.text }))) : [el("li", { class: "placeholder", text: t("staff.no_notes") })]));
  }

  function renderControls(handoff) {
    const staff = isStaff();
    const open = OPEN.has(handoff.status);
    const writable = canWrite(handoff);
    $("claim").hidden = !staff || !open || mine(handoff);
    $("resolve").hidden = !staff || !open;
    if (!open) $("resolve-confirm").hidden = true;
    $("transcript").hidden = !staff;
    $("transcript").href = `/api/v1/handoffs/${handoff.id}/transcript`;
    $("staff-tools").hidden = !staff;
    $("room-closed").hidden = open;
    $("claim-first").hidden = writable || !open || !staff;
    $("reply-form").hidden = !open;
    for (const id of ["reply", "send", "canned", "send-canned", "written-in"]) $(id).disabled = !writable;
    $("canned-row").hidden = !staff;
    $("written-in-row").hidden = staff;
    $("invite").disabled = !open;
    const label = $("reply-label");
    label.textContent = staff ? label.dataset.staff : label.dataset.interpreter;
    const labels = $("labels");
    if (document.activeElement !== labels && !labels.dataset.dirty) labels.value = handoff.labels.join(", ");
  }

  function render(data, fresh) {
    const handoff = data.handoff;
    room.data = data;
    $("room-placeholder").hidden = true;
    $("room").hidden = false;
    $("room-heading").textContent = t("staff.room_heading", {
      id: handoff.id, language: handoff.language_name || languageName(handoff.language), bot: botName(handoff),
    });
    renderMeta(handoff);
    renderControls(handoff);
    renderMessages(data.messages, fresh);
    if (isStaff()) renderNotes(data.notes || []);
    if (!isStaff()) fillWrittenIn(handoff);
  }

  // --- lists: canned replies, interpreters, the interpreter's languages ---------------------

  async function loadCanned() {
    if (room.cannedLoaded || !isStaff()) return;
    const data = await api("GET", "/api/v1/staff/canned");
    const select = $("canned");
    select.replaceChildren(select.options[0], ...data.canned.map((c) => el("option", { value: c.id, text: c.text })));
    room.cannedLoaded = true;
  }

  async function loadInterpreters(handoff) {
    if (!isStaff() || room.interpretersOf === handoff.id) return;
    room.interpretersOf = handoff.id;
    const data = await api("GET", `/api/v1/staff/interpreters?language=${encodeURIComponent(handoff.language)}`);
    const options = data.interpreters.map((person) => {
      const speaks = joinList([person.language, ...(person.interprets || [])].map(languageName));
      return el("option", { value: person.username, "data-name": person.display_name,
        text: paren(person.display_name, speaks) });
    });
    $("interpreter").replaceChildren(...options);
    $("no-interpreters").hidden = options.length > 0;
    $("invite").hidden = options.length === 0;
    $("interpreter").hidden = options.length === 0;
  }

  function fillWrittenIn(handoff) {
    const select = $("written-in");
    if (select.dataset.handoff === String(handoff.id)) return;
    select.dataset.handoff = String(handoff.id);
    const user = app.user();
    const codes = [...new Set([user.language, ...(user.interprets || []), handoff.language])];
    select.replaceChildren(el("option", { value: "", text: t("staff.written_auto") }),
      ...codes.map((code) => el("option", { value: code, lang: code, text: languageName(code) })));
  }

  // --- loading ------------------------------------------------------------------------------

  async function load(fresh) {
    const id = room.id;
    if (id === null) return;
    try {
      const data = await api("GET", `/api/v1/handoffs/${id}`);
      if (room.id !== id) return; // another room was opened meanwhile
      render(data, fresh);
      await Promise.all([loadCanned(), loadInterpreters(data.handoff)]);
    } catch (error) {
      if (room.id !== id) return;
      if (error.status === 403 || error.status === 404) { close(); announce(errorText(error)); return; }
      showError(error);
    }
  }

  async function open(id) {
    room.id = id;
    room.data = null;
    $("room-error").textContent = "";
    $("resolve-confirm").hidden = true;
    $("reply").value = "";
    $("note").value = "";
    delete $("labels").dataset.dirty;
    await load(true);
    $("room-heading").focus();
  }

  function close() {
    room.id = null;
    room.data = null;
    $("room").hidden = true;
    $("room-placeholder").hidden = false;
  }

  // --- actions ------------------------------------------------------------------------------

  async function sendReply() {
    const text = $("reply").value.trim();
    if (!text || !room.data || $("reply").disabled) return;
    const body = { text };
    if (!isStaff() && $("written-in").value) body.language = $("written-in").value;
    const id = room.id;
    const sent = await act(() => api("POST", `/api/v1/handoffs/${id}/messages`, body), t("staff.sent"));
    if (sent) $("reply").value = "";
    $("reply").focus();
  }

  function wire() {
    $("claim").addEventListener("click", async () => {
      const id = room.id;
      if (await act(() => api("POST", `/api/v1/handoffs/${id}/claim`), t("staff.claimed"))) $("reply").focus();
    });
    $("reply-form").addEventListener("submit", (event) => { event.preventDefault(); sendReply(); });
    $("reply").addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; Enter that confirms an IME conversion (Japanese input) does neither.
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      sendReply();
    });
    $("send-canned").addEventListener("click", async () => {
      const canned = $("canned").value;
      if (!canned) { $("canned").focus(); return; }
      const id = room.id;
      if (await act(() => api("POST", `/api/v1/handoffs/${id}/messages`, { canned }), t("staff.sent"))) {
        $("canned").value = "";
      }
    });
    $("invite-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const select = $("interpreter");
      if (!select.value) return;
      const name = select.selectedOptions[0].dataset.name;
      const id = room.id;
      await act(() => api("POST", `/api/v1/handoffs/${id}/participants`, { role: "interpreter", user: select.value }),
        t("staff.invited", { name }));
    });
    $("labels").addEventListener("input", () => { $("labels").dataset.dirty = "1"; });
    $("labels-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const id = room.id;
      const labels = parseLabels($("labels").value);
      if (await act(() => api("PUT", `/api/v1/handoffs/${id}/labels`, { labels }), t("staff.labels_saved"))) {
        delete $("labels").dataset.dirty;
        $("labels").value = labels.join(", ");
      }
    });
    $("note-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = $("note").value.trim();
      if (!text) { $("note").focus(); return; }
      const id = room.id;
      if (await act(() => api("POST", `/api/v1/handoffs/${id}/notes`, { text }), t("staff.note_saved"))) {
        $("note").value = "";
      }
    });
    $("resolve").addEventListener("click", () => {
      $("resolve-confirm").hidden = false;
      $("resolve-yes").focus();
    });
    const cancelResolve = () => { $("resolve-confirm").hidden = true; $("resolve").focus(); };
    $("resolve-no").addEventListener("click", cancelResolve);
    $("resolve-confirm").addEventListener("keydown", (event) => { if (event.key === "Escape") cancelResolve(); });
    $("resolve-yes").addEventListener("click", async () => {
      const id = room.id;
      if (await act(() => api("POST", `/api/v1/handoffs/${id}/resolve`), t("staff.resolved_notice"))) {
        $("resolve-confirm").hidden = true;
        $("room-heading").focus();
      }
    });
  }

  wire();
  return {
    open,
    close,
    /** Reload the open room (live updates); new messages are appended and announced. */
    refresh: () => load(false),
    get id() { return room.id; },
    reset() { close(); room.cannedLoaded = false; room.interpretersOf = null; $("written-in").dataset.handoff = ""; },
  };
}
