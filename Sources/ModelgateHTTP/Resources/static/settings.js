// Progressive enhancement of the settings page: forms still post without JavaScript; with it,
// changes go through the JSON API and the page content is refreshed in place.
(() => {
  "use strict";
  document.documentElement.classList.add("js");
  const content = () => document.getElementById("content");
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, path, body) {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.detail || "The request failed."), { problem: data });
    return data;
  }

  function showNotice(kind, text) {
    const slot = document.getElementById("notice");
    if (!slot) return;
    slot.replaceChildren();
    const p = document.createElement("p");
    p.className = "notice notice-" + kind;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = text;
    slot.append(p);
    p.scrollIntoView({ block: "nearest" });
  }

  async function refresh(notice) {
    const main = content();
    main.setAttribute("aria-busy", "true");
    main.replaceChildren(document.getElementById("skeleton").content.cloneNode(true));
    try {
      const response = await fetch("/settings", { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!response.ok) throw new Error("status " + response.status);
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      main.replaceChildren(...page.getElementById("content").childNodes);
      document.querySelector('meta[name="csrf-token"]').content = page.querySelector('meta[name="csrf-token"]').content;
      enhance();
      if (notice) showNotice(notice.kind, notice.text);
    } catch {
      main.innerHTML = '<section class="card load-error" role="alert" data-load-error><h2>Could not load your model settings</h2>' +
        '<p class="muted">Check your connection and try again.</p><button type="button" class="primary" data-retry>Retry</button></section>';
    } finally {
      main.removeAttribute("aria-busy");
    }
  }

  const actions = {
    async default(form) {
      await api("PATCH", "/api/profile/model-preferences", { defaultModelId: form.modelId.value });
      return { kind: "success", text: "Default model saved." };
    },
    async override(form) {
      const model = form.modelId.value || null;
      await api("PATCH", "/api/profile/model-preferences", { personaOverrides: { [form.personaId.value]: model } });
      return { kind: "success", text: model ? "Coach model saved." : "Override cleared: this coach follows your default model again." };
    },
    async buy(form) {
      const session = await api("POST", "/api/models/" + encodeURIComponent(form.modelId.value) + "/checkout");
      window.location.assign(session.url);
      return null;
    },
  };

  async function submit(event) {
    const form = event.target.closest("form[data-action]");
    if (!form || !actions[form.dataset.action]) return;
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const notice = await actions[form.dataset.action](form);
      if (notice) await refresh(notice);
    } catch (error) {
      showNotice("error", error.message);
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function openCompare() {
    const dialog = document.getElementById("compare-dialog");
    const table = document.getElementById("compare-table");
    if (!table) return;
    dialog.querySelector("[data-compare-slot]").replaceChildren(table.cloneNode(true));
    dialog.showModal();
  }

  function enhance() {
    document.querySelectorAll("[data-open-compare]").forEach((b) => { b.hidden = false; });
  }

  document.addEventListener("submit", submit);
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-open-compare]")) openCompare();
    if (event.target.closest("[data-close-compare]")) document.getElementById("compare-dialog").close();
    if (event.target.closest("[data-retry]")) refresh();
  });
  enhance();
})();
