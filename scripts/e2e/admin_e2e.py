"""The admin console in headless Chromium: an admin creates a model and a user sees it; the admin
disables it and it disappears; a refused form shows field messages; a grant gives a user a premium
model at once; an API key is shown once, works, and stops working when revoked; every action is in
the audit log. Screenshots at 375, 768 and 1280 px."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser import browser, chat, check, find, finish, scenario, screenshots, sign_in, text_of, wait, wait_text

S = scenario()
BASE, OUT = S["base"], S["out"]


def fill(driver, field, value):
    element = driver.find_element(By.ID, "f-" + field)
    element.clear()
    element.send_keys(value)


def user_model_ids(user):
    user.get(BASE + "/settings")
    find(user, "h1")
    return [card.get_attribute("data-model") for card in user.find_elements(By.CSS_SELECTOR, ".model-card")]


admin, user = browser(), browser()
try:
    sign_in(admin, BASE, S["admin"]["token"])
    admin.get(BASE + "/admin/models")
    # Seven chat models and four embedding models.
    check("the admin table lists the seeded models", len(admin.find_elements(By.CSS_SELECTOR, "tr[data-model]")) == 11)
    screenshots(admin, OUT, "table")
    sign_in(user, BASE, S["user"]["token"])
    check("the new model is not there yet", "mistral-small" not in user_model_ids(user))

    # A refused form: premium without a price, a negative limit and bad JSON, each named.
    admin.get(BASE + "/admin/models/new")
    fill(admin, "id", "mistral-small")
    fill(admin, "displayName", "Mistral Small")
    fill(admin, "providerModelId", "mistralai/Mistral-Small")
    Select(admin.find_element(By.ID, "f-provider")).select_by_value("together")
    Select(admin.find_element(By.ID, "f-tier")).select_by_value("premium")
    fill(admin, "rateLimitMessagesPerDay", "-5")
    metadata = admin.find_element(By.ID, "f-metadata")
    metadata.clear()
    metadata.send_keys('{"speed": "fast",')
    check("the JSON editor flags bad JSON as it is typed", wait_text(admin, "[data-json-error]", "not valid JSON"))
    admin.find_element(By.CSS_SELECTOR, "form.model-form button[type=submit]").click()
    find(admin, ".error-summary")
    summary = text_of(admin, ".error-summary")
    check("a refused form names each field", all(f in summary for f in ("priceCents", "rateLimitMessagesPerDay", "metadata")), summary)
    check("the refused form keeps what was typed", admin.find_element(By.ID, "f-id").get_attribute("value") == "mistral-small")
    screenshots(admin, OUT, "form-errors")

    # Corrected: a free model with good metadata.
    Select(admin.find_element(By.ID, "f-tier")).select_by_value("free")
    check("the price is disabled for a free model", not admin.find_element(By.ID, "f-priceCents").is_enabled())
    fill(admin, "rateLimitMessagesPerDay", "")
    metadata = admin.find_element(By.ID, "f-metadata")
    metadata.clear()
    metadata.send_keys('{"speed": "fast", "quality": "good", "contextWindow": 32000}')
    screenshots(admin, OUT, "form")
    admin.find_element(By.CSS_SELECTOR, "form.model-form button[type=submit]").click()
    wait(admin).until(lambda d: "notice=created" in d.current_url)
    check("creating shows a notice", wait_text(admin, "#notice", "was created"), text_of(admin, "#notice"))
    check("a user sees the created model", "mistral-small" in user_model_ids(user))

    # Disable with the inline toggle: it disappears for the user.
    admin.find_element(By.CSS_SELECTOR, 'tr[data-model="mistral-small"] [data-toggle]').click()
    wait(admin).until(lambda d: "notice=disabled" in d.current_url)
    check("the row shows Disabled", wait_text(admin, 'tr[data-model="mistral-small"]', "Disabled"))
    check("the disabled model disappears for the user", "mistral-small" not in user_model_ids(user))

    # Grant a premium model: the user has it at once.
    check("before the grant, Opus is not owned", "Purchased" not in text_of(user, '.model-card[data-model="claude-3-opus"]'))
    admin.get(BASE + "/admin/models/claude-3-opus/stats")
    search = find(admin, "[data-user-search]")
    search.send_keys(S["user"]["email"][:4])
    wait(admin).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#user-suggestions option"))
    check("the user search suggests the user", S["user"]["email"] in [o.get_attribute("value") for o in
                                                                     admin.find_elements(By.CSS_SELECTOR, "#user-suggestions option")])
    search.clear()
    search.send_keys(S["user"]["email"])
    admin.find_element(By.ID, "grant-note").send_keys("pilot group")
    admin.find_element(By.CSS_SELECTOR, "form[data-grant] button[type=submit]").click()
    wait(admin).until(lambda d: "notice=granted" in d.current_url)
    check("the stats view lists the new holder", wait_text(admin, "main", S["user"]["email"]))
    screenshots(admin, OUT, "stats")
    user.get(BASE + "/settings")
    check("the granted model shows Purchased for the user", wait_text(user, '.model-card[data-model="claude-3-opus"]', "Purchased"))
    check("the user can chat with it at once, no purchase", chat(BASE, S["user"]["token"], "claude-3-opus") == 200)

    # An API key: the whole key once, then only its prefix; revoked, it is refused at once.
    admin.get(BASE + "/admin/keys")
    find(admin, "#k-name").send_keys("discord-bot")
    Select(admin.find_element(By.ID, "k-kind")).select_by_value("service")
    admin.find_element(By.ID, "k-rpm").send_keys("60")
    admin.find_element(By.CSS_SELECTOR, "form.key-form button[type=submit]").click()
    key = find(admin, "[data-secret]").text
    check("creating a key shows the whole key", key.startswith("mg_live_"), key)
    screenshots(admin, OUT, "key-created")
    check("the key chats for an end user it names", chat(BASE, key, "gpt-4o-mini", end_user="discord:42") == 200)
    admin.get(BASE + "/admin/keys")
    check("the keys table never shows the secret", key.split("_", 3)[3] not in admin.page_source)
    check("the keys table lists the key with its limit", wait_text(admin, "table.keys", "60/min"))
    admin.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke discord-bot']").click()
    wait(admin).until(lambda d: "notice=revoked" in d.current_url)
    check("the revoked key shows as revoked", wait_text(admin, "table.keys", "revoked 20"))
    screenshots(admin, OUT, "keys")
    check("a revoked key is refused", chat(BASE, key, "gpt-4o-mini", end_user="discord:42") == 401)

    # The audit log has every action with before and after.
    admin.get(BASE + "/admin/audit")
    log = text_of(admin, "table.audit")
    for action in ("model.created", "model.disabled", "access.granted", "key.created", "key.revoked"):
        check(f"the audit log shows {action}", action in log)
    check("the audit log shows before/after values", '{"enabled":false}' in log and '"note":"pilot group"' in log)
    screenshots(admin, OUT, "audit")
finally:
    admin.quit()
    user.quit()
finish()
