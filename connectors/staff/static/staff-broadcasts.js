/* Yorisoi staff console: the broadcasts page (administrators), an ES module without a build step.
 *
 * <yorisoi-broadcast-compose> enhances the server-rendered form: the audience (every fieldset marked
 * data-audience="<API field>" is sent as the list of its checked values), the kind, and the message as
 * texts per language (each card flagged while empty, and marked when recipients read that language
 * but it has no text) or as a catalog key with parameters. "Preview" is a dry run of
 * POST /api/v1/admin/broadcasts (recipients, languages without a text) plus POST .../render for one
 * reader language; "Send…" asks for confirmation, then sends exactly what was previewed. Any edit
 * after the preview disables sending until it is previewed again.
 * <yorisoi-broadcast-progress> and <yorisoi-broadcast-list> live in staff-broadcast-progress.js.
 */
import { $, LANG, announce, api, el, errorText, languageName, t } from "./staff-util.js";
import "./staff-broadcast-progress.js";

/** A parameter line that is not "name=value". */
class BadParams extends Error {}

/** ``name=value`` lines → {name: value}. */
function parseParams(text) {
  const params = {};
  for (const line of String(text).split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    const name = at > 0 ? line.slice(0, at).trim() : "";
    if (!name) throw new BadParams(line);
    params[name] = line.slice(at + 1).trim();
  }
  return params;
}

class BroadcastCompose extends HTMLElement {
  connectedCallback() {
    if (this.wired) return;
    this.wired = true;
    this.form = this.querySelector("#bc-form");
    this.preview = null; // {body, signature, recipients, missing}
    this.busy = false;
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.runPreview(); });
    this.form.addEventListener("input", () => this.changed());
    this.form.addEventListener("change", () => this.changed());
    $("bc-render").addEventListener("click", () => this.renderLanguage());
    $("bc-send").addEventListener("click", () => this.askConfirm());
    $("bc-send-no").addEventListener("click", () => this.cancelConfirm());
    $("bc-confirm").addEventListener("keydown", (event) => { if (event.key === "Escape") this.cancelConfirm(); });
    $("bc-send-yes").addEventListener("click", () => this.send());
    this.changed();
  }

  get mode() { return this.form.elements.mode.value; }

  textareas() { return [...this.querySelectorAll("textarea[data-language]")]; }

  /** What the form asks for, or null after showing why it cannot be sent. */
  build(report = true) {
    const audience = {};
    for (const set of this.form.querySelectorAll("fieldset[data-audience]")) {
      if (set.disabled) continue;
      const values = [...set.querySelectorAll("input:checked")].map((input) => input.value);
      if (values.length) audience[set.dataset.audience] = values;
    }
    let message;
    if (this.mode === "key") {
      const key = $("bc-key").value.trim();
      if (!key) return this.invalid(report, "staff.broadcast.error.no_key", $("bc-key"));
      try {
        message = { key, params: parseParams($("bc-params").value) };
      } catch (error) {
        if (!(error instanceof BadParams)) throw error;
        return this.invalid(report, "staff.broadcast.error.bad_params", $("bc-params"));
      }
    } else {
      message = {};
      for (const area of this.textareas()) if (area.value.trim()) message[area.dataset.language] = area.value;
      if (!Object.keys(message).length) return this.invalid(report, "staff.broadcast.error.no_text", this.textareas()[0]);
    }
    return { bot: $("bc-bot").value, kind: this.form.elements.kind.value, audience, message };
  }

  invalid(report, key, field) {
    if (report) {
      $("bc-error").textContent = t(key);
      field.focus();
    }
    return null;
  }

  fail(error) {
    if (error && error.status === 401) $("page-error").textContent = t("staff.error.unauthorized");
    else $("bc-error").textContent = errorText(error);
  }

  /** Any edit: flags follow the texts; a preview of something else no longer allows sending. */
  changed() {
    $("bc-texts").hidden = this.mode !== "texts";
    $("bc-catalog").hidden = this.mode !== "key";
    if (this.preview) {
      const current = this.build(false);
      const stale = !current || JSON.stringify(current) !== this.preview.signature;
      $("bc-stale").hidden = !stale;
      $("bc-send").disabled = stale || this.preview.recipients === 0;
      if (stale) $("bc-confirm").hidden = true;
    }
    this.updateFlags();
  }

  updateFlags() {
    const written = new Set(this.textareas().filter((a) => a.value.trim()).map((a) => a.dataset.language));
    const current = this.preview && $("bc-stale").hidden ? new Set(this.preview.missing) : new Set();
    for (const area of this.textareas()) {
      const code = area.dataset.language;
      let state = "missing";
      if (written.has(code)) state = "written";
      else if (current.has(code)) state = "recipients_missing";
      else if (code === "ja-x-easy" && written.has("ja")) state = "uses_japanese";
      const flag = $(`bc-flag-${code}`);
      flag.className = `flag is-${state}`;
      flag.textContent = t(`staff.broadcast.flag.${state}`);
      area.closest(".lang-card").dataset.state = state;
    }
  }

  async runPreview() {
    if (this.busy) return;
    $("bc-error").textContent = "";
    const body = this.build();
    if (!body) return;
    this.busy = true;
    $("bc-preview-button").disabled = true;
    try {
      const result = await api("POST", "/api/v1/admin/broadcasts", { ...body, dry_run: true });
      this.preview = { body, signature: JSON.stringify(body), recipients: result.recipients,
        missing: result.missing_languages || [] };
      this.showPreview();
    } catch (error) {
      this.fail(error);
    } finally {
      this.busy = false;
      $("bc-preview-button").disabled = false;
    }
  }

  showPreview() {
    const { recipients, missing, body } = this.preview;
    $("bc-preview").hidden = false;
    $("bc-stale").hidden = true;
    $("bc-confirm").hidden = true;
    $("bc-recipients").textContent = recipients ? t("staff.broadcast.recipients", { count: recipients })
      : t("staff.broadcast.no_recipients");
    $("bc-missing-list").replaceChildren(...missing.map((code) => el("li", { lang: code, text: languageName(code) })));
    $("bc-missing").hidden = missing.length === 0;
    $("bc-complete").hidden = missing.length > 0 || recipients === 0;
    $("bc-send").disabled = recipients === 0;
    const written = body.message.key ? [] : Object.keys(body.message);
    $("bc-as").value = missing[0] || written[0] || LANG;
    this.updateFlags();
    $("bc-preview-heading").focus();
    this.renderLanguage();
  }

  /** What a reader of the chosen language would get, rendered by the server (nothing is stored). */
  async renderLanguage() {
    if (!this.preview) return;
    const language = $("bc-as").value;
    const { bot, message } = this.preview.body;
    const box = $("bc-rendered");
    try {
      const shown = await api("POST", "/api/v1/admin/broadcasts/render", { bot, message, language });
      if ($("bc-as").value !== language) return; // another language was chosen meanwhile
      let note = t("staff.broadcast.rendered_own");
      let kind = "own";
      if (shown.machine_translated) {
        note = t("staff.broadcast.rendered_mt", { language: languageName(shown.original_language) });
        kind = "mt";
      } else if (shown.fallback_language) {
        note = t("staff.broadcast.rendered_fallback", { language: languageName(shown.fallback_language) });
        kind = "fallback";
      }
      const parts = [
        el("h4", { text: t("staff.broadcast.rendered_heading", { language: languageName(language) }) }),
        el("p", { class: `badge ${kind}`, text: note }),
        el("p", { class: "text", lang: language, text: shown.text }),
      ];
      if (shown.original) {
        parts.push(el("details", {},
          el("summary", { text: t("staff.original", { language: languageName(shown.original_language) }) }),
          el("p", { class: "text", lang: shown.original_language, text: shown.original })));
      }
      box.replaceChildren(...parts);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error", text: errorText(error) }));
    }
  }

  askConfirm() {
    if (!this.preview || $("bc-send").disabled) return;
    const disaster = this.preview.body.kind === "disaster";
    $("bc-confirm-question").textContent = t("staff.broadcast.confirm", { count: this.preview.recipients });
    $("bc-confirm-timing").textContent = t(disaster ? "staff.broadcast.confirm_disaster" : "staff.broadcast.confirm_quiet");
    $("bc-confirm-timing").classList.toggle("warn", disaster);
    $("bc-confirm").hidden = false;
    $("bc-send-yes").focus();
  }

  cancelConfirm() {
    $("bc-confirm").hidden = true;
    $("bc-send").focus();
  }

  async send() {
    if (this.busy || !this.preview) return;
    const { body } = this.preview;
    this.busy = true;
    $("bc-send-yes").disabled = true;
    $("bc-error").textContent = "";
    try {
      const result = await api("POST", "/api/v1/admin/broadcasts", body);
      this.preview = null; // sending again needs a new preview
      $("bc-confirm").hidden = true;
      $("bc-preview").hidden = true;
      this.updateFlags();
      announce(t("staff.broadcast.sent", { id: result.id }));
      this.dispatchEvent(new CustomEvent("broadcast-sent", { bubbles: true, detail: { id: result.id } }));
    } catch (error) {
      $("bc-confirm").hidden = true;
      this.fail(error);
    } finally {
      this.busy = false;
      $("bc-send-yes").disabled = false;
    }
  }
}

customElements.define("yorisoi-broadcast-compose", BroadcastCompose);

// The page: sending or choosing a broadcast shows its progress; the list follows what happened.
const progress = document.querySelector("yorisoi-broadcast-progress");
const list = document.querySelector("yorisoi-broadcast-list");
document.addEventListener("broadcast-sent", (event) => { progress.watch(event.detail.id); list.refresh(); });
document.addEventListener("broadcast-open", (event) => progress.watch(event.detail.id));
document.addEventListener("broadcast-settled", () => list.refresh());
document.addEventListener("broadcast-unauthorized", () => { $("page-error").textContent = t("staff.error.unauthorized"); });
$("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/v1/auth/logout"); } catch (error) { /* logged out locally all the same */ }
  window.location.assign(`/staff?lang=${LANG}`);
});
