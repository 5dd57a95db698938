/* Yorisoi staff console, broadcasts page: following a broadcast and the list of recent ones.
 *
 * <yorisoi-broadcast-progress> polls GET /api/v1/admin/broadcasts/{id} every 2 s until it is done:
 * a progress bar, the counts (sent, failed, skipped, pending) and the dead letters with their reason
 * (never a resident's message). Its status line is an aria-live region that changes only when the
 * status does (queued → sending → done), so screen readers are not flooded every 2 s.
 * <yorisoi-broadcast-list> shows GET /api/v1/admin/broadcasts (newest first); choosing one follows it.
 * Both say what happened with bubbling events: broadcast-open {id}, broadcast-settled {id}.
 */
import { $, api, botName, el, errorText, formatTime, has, joinList, languageName, paren, t } from "./staff-util.js";

const POLL_MS = 2000;
const RECENT_LIMIT = 20;
const COUNTS = ["sent", "failed", "skipped", "pending"];

/** A notification kind in the page language. */
export function kindLabel(kind) {
  return has(`staff.broadcast.kind.${kind}`) ? t(`staff.broadcast.kind.${kind}`) : kind;
}

function statusLabel(status) {
  return has(`staff.broadcast.status.${status}`) ? t(`staff.broadcast.status.${status}`) : status;
}

function settledOf(report) {
  return report.sent + report.failed + report.skipped;
}

function totalOf(report) {
  return report.recipients ?? settledOf(report) + report.pending;
}

class BroadcastProgress extends HTMLElement {
  connectedCallback() {
    this.current = null;
    this.timer = null;
    this.lastStatus = null;
  }

  disconnectedCallback() {
    window.clearTimeout(this.timer);
  }

  /** Follow broadcast ``id`` (replacing the one followed so far) and move the focus to it. */
  watch(id) {
    window.clearTimeout(this.timer);
    this.current = id;
    this.lastStatus = null;
    $("bc-progress").hidden = false;
    $("bc-progress-heading").textContent = `#${id}`;
    $("bc-progress-status").textContent = "";
    $("bc-progress-error").textContent = "";
    $("bc-dead").hidden = true;
    $("bc-dead-list").replaceChildren();
    $("bc-progress-heading").focus();
    this.poll();
  }

  async poll() {
    const id = this.current;
    try {
      const report = await api("GET", `/api/v1/admin/broadcasts/${id}`);
      if (this.current !== id) return;
      $("bc-progress-error").textContent = "";
      this.render(report);
      if (report.status === "done") {
        this.dispatchEvent(new CustomEvent("broadcast-settled", { bubbles: true, detail: { id } }));
        return;
      }
    } catch (error) {
      if (this.current !== id) return;
      if (error.status === 404) { $("bc-progress-error").textContent = t("staff.broadcast.not_found"); return; }
      if (error.status === 401 || error.status === 403) {
        $("bc-progress-error").textContent = errorText(error);
        this.dispatchEvent(new CustomEvent("broadcast-unauthorized", { bubbles: true }));
        return;
      }
      $("bc-progress-error").textContent = t("staff.broadcast.retrying");
    }
    this.timer = window.setTimeout(() => this.poll(), POLL_MS);
  }

  render(report) {
    const settled = settledOf(report);
    const total = totalOf(report);
    const percent = total ? Math.floor((settled * 100) / total) : 100;
    $("bc-progress-heading").textContent = t("staff.broadcast.progress_heading", {
      id: report.id, kind: kindLabel(report.kind), bot: botName(report) });
    const bar = $("bc-bar");
    bar.value = percent;
    const shown = paren(`${percent}%`, t("staff.broadcast.progress_count", { settled, total }));
    bar.setAttribute("aria-valuetext", shown);
    $("bc-percent").textContent = shown;
    for (const name of COUNTS) $(`bc-count-${name}`).textContent = String(report[name]);
    if (report.status !== this.lastStatus) {
      this.lastStatus = report.status;
      $("bc-progress-status").className = `progress-status ${report.status}`;
      $("bc-progress-status").textContent = report.status === "done"
        ? t("staff.broadcast.progress.done", { sent: report.sent, failed: report.failed, skipped: report.skipped })
        : t(`staff.broadcast.progress.${report.status}`);
    }
    const dead = report.dead_letters || [];
    $("bc-dead").hidden = dead.length === 0;
    $("bc-dead-list").replaceChildren(...dead.map((letter) => el("li", {}, t("staff.broadcast.dead_item", {
      conversation: letter.conversation_id, channel: has(`staff.channel.${letter.channel}`)
        ? t(`staff.channel.${letter.channel}`) : letter.channel,
      reason: letter.reason || t("staff.broadcast.reason_unknown"), attempts: letter.attempts,
    }))));
  }
}

class BroadcastList extends HTMLElement {
  connectedCallback() {
    if (this.wired) return;
    this.wired = true;
    $("bc-refresh").addEventListener("click", () => this.refresh());
    $("bc-recent").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      if (!button) return;
      for (const other of $("bc-recent").querySelectorAll("button[aria-current]")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      this.dispatchEvent(new CustomEvent("broadcast-open", { bubbles: true, detail: { id: Number(button.dataset.id) } }));
    });
    this.refresh();
  }

  async refresh() {
    try {
      const data = await api("GET", `/api/v1/admin/broadcasts?limit=${RECENT_LIMIT}`);
      $("bc-recent-error").textContent = "";
      this.render(data.broadcasts);
    } catch (error) {
      $("bc-recent-error").textContent = errorText(error);
    }
  }

  render(broadcasts) {
    const chosen = $("bc-recent").querySelector("button[aria-current]");
    const chosenId = chosen ? chosen.dataset.id : null;
    $("bc-recent-empty").hidden = broadcasts.length > 0;
    $("bc-recent").replaceChildren(...broadcasts.map((item) => {
      const what = item.message.key ? t("staff.broadcast.catalog_message", { key: item.message.key })
        : t("staff.broadcast.written_in", { languages: joinList(item.message.languages.map(languageName)) });
      const counts = [t("staff.broadcast.recent_counts", { sent: item.sent, recipients: item.recipients }),
        item.failed ? t("staff.broadcast.recent_failed", { failed: item.failed }) : ""].filter(Boolean).join(" ");
      return el("li", {}, el("button", {
        type: "button", class: `bc-item ${item.kind}`, "data-id": item.id,
        "aria-current": String(item.id) === chosenId ? "true" : null,
      },
      el("span", { class: "line first" },
        el("span", { text: t("staff.broadcast.recent_item", { id: item.id, kind: kindLabel(item.kind), bot: botName(item) }) }),
        el("span", { class: `status ${item.status}`, text: statusLabel(item.status) })),
      el("span", { class: "line muted", text: t("staff.broadcast.recent_meta", {
        time: formatTime(item.created_at), author: item.created_by }) }),
      el("span", { class: "line muted", text: what }),
      el("span", { class: "line", text: counts })));
    }));
  }
}

customElements.define("yorisoi-broadcast-progress", BroadcastProgress);
customElements.define("yorisoi-broadcast-list", BroadcastList);
