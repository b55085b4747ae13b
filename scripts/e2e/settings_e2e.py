"""The settings page in headless Chromium: choices persist, overrides set and clear, the trial
counter goes down, locked and rate-limited states show, a fake checkout ends in `Purchased`, and
the page works without JavaScript. Screenshots at 375, 768 and 1280 px go to scenario["out"]."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser import browser, chat, check, find, finish, scenario, screenshots, sign_in, text_of, wait, wait_text

S = scenario()
BASE, OUT = S["base"], S["out"]


def card(model):
    return f'.model-card[data-model="{model}"]'


def with_javascript():
    driver = browser()
    try:
        sign_in(driver, BASE, S["main"]["token"])
        check("signing in lands on /settings", driver.current_url == BASE + "/settings", driver.current_url)
        check("session cookie is HttpOnly", all(c["httpOnly"] for c in driver.get_cookies()
                                                 if c["name"] == "modelgate_session"), driver.get_cookies())
        check("premium cards show price and trials", wait_text(driver, card("gpt-4o"), "2 of 2 free messages left")
              and wait_text(driver, card("gpt-4o"), "$2.99"), text_of(driver, card("gpt-4o")))
        check("system default is marked", "System default" in text_of(driver, card("gpt-4o-mini")))
        screenshots(driver, OUT, "default")

        # Default model: saved through the API, still chosen after a reload.
        Select(driver.find_element(By.ID, "default-model")).select_by_value("claude-3-5-haiku")
        driver.find_element(By.CSS_SELECTOR, 'form[data-action="default"] button').click()
        check("saving the default shows success", wait_text(driver, "#notice", "Default model saved"), text_of(driver, "#notice"))
        driver.refresh()
        chosen = Select(find(driver, "#default-model")).first_selected_option.get_attribute("value")
        check("the default persists after reload", chosen == "claude-3-5-haiku", chosen)

        # Coach override: set, see it, clear it.
        persona = '.persona[data-persona="fitness"]'
        Select(driver.find_element(By.ID, "override-fitness")).select_by_value("llama-3.1-8b")
        driver.find_element(By.CSS_SELECTOR, persona + ' form[data-action="override"] button').click()
        check("saving an override shows success", wait_text(driver, "#notice", "Coach model saved"), text_of(driver, "#notice"))
        driver.refresh()
        check("the override shows after reload", wait_text(driver, persona + " [data-current-model]", "Llama")
              and wait_text(driver, persona + " [data-source]", "Override"), text_of(driver, persona))
        driver.find_element(By.CSS_SELECTOR, persona + " [data-clear]").click()
        check("clearing an override shows success", wait_text(driver, "#notice", "Override cleared"), text_of(driver, "#notice"))
        check("the coach follows the default again", wait_text(driver, persona + " [data-source]", "Your default")
              and wait_text(driver, persona + " [data-current-model]", "Claude 3.5 Haiku"), text_of(driver, persona))

        # Comparison dialog.
        driver.find_element(By.CSS_SELECTOR, "[data-open-compare]").click()
        dialog = find(driver, "dialog[open]")
        check("the comparison lists every model", len(dialog.find_elements(By.CSS_SELECTOR, "tbody tr")) == 7)
        screenshots(driver, OUT, "compare", viewport_only=True)
        driver.find_element(By.CSS_SELECTOR, "[data-close-compare]").click()

        # Trials: each chat message spends one; then the model is locked with a purchase prompt.
        check("a trial message is answered", chat(BASE, S["main"]["token"], "gpt-4o") == 200)
        driver.refresh()
        check("the trial counter goes down", wait_text(driver, card("gpt-4o"), "1 of 2 free messages left"), text_of(driver, card("gpt-4o")))
        chat(BASE, S["main"]["token"], "gpt-4o")
        check("a third message is refused", chat(BASE, S["main"]["token"], "gpt-4o") == 403)
        driver.refresh()
        exhausted = text_of(driver, card("gpt-4o"))
        check("trial exhausted shows Locked and a purchase prompt", "Locked" in exhausted and "free messages are used up" in exhausted
              and "Buy for $2.99" in exhausted, exhausted)
        Select(driver.find_element(By.ID, "default-model")).select_by_value("gpt-4o")
        driver.find_element(By.CSS_SELECTOR, 'form[data-action="default"] button').click()
        check("a locked default is refused with the reason", wait_text(driver, "#notice", "buy it to make it your default"), text_of(driver, "#notice"))
        driver.refresh()
        screenshots(driver, OUT, "trial-exhausted")

        # Loading skeleton and load error with retry: slow, then cut, the page's own refresh.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": False, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1})
        Select(driver.find_element(By.ID, "default-model")).select_by_value("claude-3-5-haiku")
        driver.find_element(By.CSS_SELECTOR, 'form[data-action="default"] button').click()
        find(driver, ".skeleton")
        screenshots(driver, OUT, "loading", viewport_only=True)
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        wait_text(driver, "#notice", "Default model saved")
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/settings"]})
        driver.find_element(By.CSS_SELECTOR, 'form[data-action="default"] button').click()
        check("a failed load shows an error with retry", find(driver, "[data-load-error] [data-retry]") is not None)
        screenshots(driver, OUT, "load-error", viewport_only=True)
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        driver.find_element(By.CSS_SELECTOR, "[data-retry]").click()
        check("retry brings the page back", find(driver, "#default-model") is not None)

        # Purchase: Buy → the fake's hosted checkout → Pay → signed webhook → back with a notice.
        driver.find_element(By.CSS_SELECTOR, card("gpt-4o") + ' form[data-action="buy"] button').click()
        find(driver, "#pay").click()
        wait(driver).until(lambda d: "/settings?checkout=success" in d.current_url)
        check("returning from checkout shows a notice", wait_text(driver, "#notice", "Payment received"), text_of(driver, "#notice"))
        check("the model shows Purchased", wait_text(driver, card("gpt-4o"), "Purchased"), text_of(driver, card("gpt-4o")))
        screenshots(driver, OUT, "purchased")
        driver.find_element(By.CSS_SELECTOR, card("claude-3-opus") + ' form[data-action="buy"] button').click()
        find(driver, "#cancel").click()
        wait(driver).until(lambda d: "checkout=cancelled" in d.current_url)
        check("a cancelled checkout says nothing was charged", wait_text(driver, "#notice", "not charged"), text_of(driver, "#notice"))
    finally:
        driver.quit()


def rate_limited():
    driver = browser()
    try:
        sign_in(driver, BASE, S["limited"]["token"])
        sonnet = text_of(driver, card("claude-3-5-sonnet"))
        check("an owned model at its limit shows the reset time", "Daily limit reached" in sonnet and "Purchased" in sonnet, sonnet)
        check("usage today shows used / limit", wait_text(driver, "table.usage", "50 / 50"), text_of(driver, "table.usage"))
        screenshots(driver, OUT, "rate-limited")
    finally:
        driver.quit()


def without_javascript():
    driver = browser(javascript=False)
    try:
        sign_in(driver, BASE, S["limited"]["token"])
        find(driver, "#default-model")
        check("without JavaScript the models show", len(driver.find_elements(By.CSS_SELECTOR, ".model-card")) == 7)
        check("without JavaScript the comparison is a disclosure", driver.find_element(By.ID, "compare").is_displayed())
        Select(driver.find_element(By.ID, "default-model")).select_by_value("llama-3.1-8b")
        driver.find_element(By.CSS_SELECTOR, 'form[data-action="default"] button').click()
        wait(driver).until(lambda d: "saved=default" in d.current_url)
        chosen = Select(find(driver, "#default-model")).first_selected_option.get_attribute("value")
        check("a plain form post saves and redirects", chosen == "llama-3.1-8b" and wait_text(driver, "#notice", "Default model saved"), chosen)
        Select(driver.find_element(By.ID, "override-career")).select_by_value("claude-3-opus")
        driver.find_element(By.CSS_SELECTOR, '.persona[data-persona="career"] form[data-action="override"] button').click()
        check("a refused form shows why", wait_text(driver, "#notice", "to make it your default, or try it from the chat"), text_of(driver, "#notice"))
        screenshots(driver, OUT, "no-javascript")
    finally:
        driver.quit()


with_javascript()
rate_limited()
without_javascript()
finish()
