/* <yorisoi-queues data-stream="/api/v1/queues/stream?lang=ja">: keeps the server-rendered status page live.
 *
 * Plain JS, no build step, no CDN. The page works without it (the numbers are rendered on the
 * server); this element listens to the Server-Sent Events stream and updates the numbers in place,
 * with the texts the page carries in <script type="application/json" id="queue-strings">.
 * EventSource reconnects by itself; the status line says when updates are paused.
 */
(() => {
  "use strict";
  if (customElements.get("yorisoi-queues")) return;

  const fill = (template, params) =>
    String(template || "").replace(/\{([a-z_]+)\}/g, (all, name) => (name in params ? String(params[name]) : all));

  class YorisoiQueues extends HTMLElement {
    connectedCallback() {
      if (this.started) return;
      this.started = true;
      const source = document.getElementById("queue-strings");
      this.strings = source ? JSON.parse(source.textContent || "{}") : {};
      this.status = this.querySelector("[data-connection]");
      const url = this.dataset.stream;
      if (!url || typeof EventSource === "undefined") return;
      this.events = new EventSource(url);
      this.events.addEventListener("open", () => this.connection(true));
      this.events.addEventListener("error", () => this.connection(false));
      this.events.addEventListener("offices", (event) => {
        this.connection(true);
        try { this.update(JSON.parse(event.data)); } catch (_e) { /* a broken frame: the next one repairs it */ }
      });
    }

    disconnectedCallback() {
      if (this.events) this.events.close();
      this.started = false;
    }

    t(key, params) { return fill(this.strings[key] || "", params || {}); }

    connection(live) {
      if (!this.status) return;
      const text = this.t(live ? "queues.live" : "queues.offline");
      if (this.status.textContent !== text) this.status.textContent = text;
      this.status.classList.toggle("offline", !live);
    }

    /** Put ``value`` (text) or "not known" (an em dash with a hidden label) into ``cell``; mark a change. */
    set(cell, value) {
      if (!cell) return;
      const before = cell.textContent;
      if (value === null || value === undefined || value === "") {
        cell.replaceChildren(
          Object.assign(document.createElement("span"), { textContent: "—" }),
          Object.assign(document.createElement("span"), { textContent: this.t("queues.unknown"), className: "sr-only" }),
        );
        cell.firstChild.setAttribute("aria-hidden", "true");
      } else {
        cell.textContent = String(value);
      }
      if (cell.textContent !== before) {
        cell.classList.remove("changed");
        void cell.offsetWidth; // restart the highlight
        cell.classList.add("changed");
      }
    }

    update(data) {
      for (const office of (data && data.offices) || []) {
        const card = this.querySelector(`[data-office="${CSS.escape(office.id)}"]`);
        if (!card) continue;
        const shown = office.open && office.available;
        const badge = card.querySelector('[data-field="badge"]');
        if (badge) {
          badge.textContent = this.t(!office.open ? "queues.closed" : (office.available ? "queues.open" : "queues.unavailable"));
          badge.className = `badge ${shown ? "open" : (office.open ? "stale" : "closed")}`;
        }
        for (const service of office.services || []) {
          const row = card.querySelector(`[data-service="${CSS.escape(service.id)}"]`);
          if (!row) continue;
          const live = shown && service.available;
          this.set(row.querySelector('[data-field="waiting"]'), live ? service.waiting : null);
          this.set(row.querySelector('[data-field="calling"]'), live ? service.calling : null);
          const minutes = live ? service.estimated_wait_minutes : null;
          this.set(row.querySelector('[data-field="wait"]'), minutes === null || minutes === undefined ? null
            : (minutes === 0 ? this.t("queues.no_one") : this.t("queues.minutes", { minutes })));
        }
        const updated = card.querySelector('[data-field="updated"]');
        if (updated) updated.textContent = office.updated_time ? this.t("queues.updated", { time: office.updated_time }) : "";
      }
    }
  }

  customElements.define("yorisoi-queues", YorisoiQueues);
})();
