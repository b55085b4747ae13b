// Small enhancements of the admin console; every form works without them.
(() => {
  "use strict";
  const tier = document.querySelector("[data-tier]");
  const price = document.getElementById("f-priceCents");
  function syncPrice() {
    if (!tier || !price) return;
    const free = tier.value === "free";
    price.disabled = free;
    if (free) price.value = "";
  }
  tier?.addEventListener("change", syncPrice);
  syncPrice();

  const json = document.querySelector("[data-json]");
  const jsonError = document.querySelector("[data-json-error]");
  json?.addEventListener("input", () => {
    let message = "";
    try {
      const value = JSON.parse(json.value || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) message = "must be a JSON object";
    } catch (error) {
      message = "is not valid JSON: " + error.message;
    }
    jsonError.textContent = message;
    jsonError.hidden = !message;
    json.setAttribute("aria-invalid", message ? "true" : "false");
  });

  document.querySelector("[data-select-all]")?.addEventListener("change", (event) => {
    document.querySelectorAll('input[name="ids[]"]').forEach((box) => { box.checked = event.target.checked; });
  });

  const search = document.querySelector("[data-user-search]");
  let timer;
  search?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (search.value.length < 2) return;
      const response = await fetch("/api/admin/users?email=" + encodeURIComponent(search.value), { credentials: "same-origin" });
      if (!response.ok) return;
      const { data } = await response.json();
      const list = document.getElementById("user-suggestions");
      list.replaceChildren(...data.filter((u) => u.email).map((u) => Object.assign(document.createElement("option"), { value: u.email })));
    }, 150);
  });
})();
