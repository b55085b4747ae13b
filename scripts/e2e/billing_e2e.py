"""The settings page's "Plan and credits" card in headless Chromium: subscribe through the fake's
hosted checkout, send a message on the plan, buy a credit pack, see the ledger, open the billing
portal and come back. Screenshots at 375, 768 and 1280 px go to scenario["out"]."""
from selenium.webdriver.common.by import By

from browser import chat, browser, check, find, finish, scenario, screenshots, sign_in, text_of, wait, wait_text

S = scenario()
BASE, OUT, TOKEN = S["base"], S["out"], S["token"]
CARD = "[data-billing]"


def pay_on_stripe(driver):
    find(driver, "#pay").click()
    wait(driver).until(lambda d: "/settings?checkout=" in d.current_url)
    find(driver, CARD)


driver = browser()
try:
    sign_in(driver, BASE, TOKEN)
    check("the card offers the plan", wait_text(driver, CARD, "Pro") and wait_text(driver, CARD, "$19.00 a month, 100 messages"),
          text_of(driver, CARD))
    check("the balance starts at zero", wait_text(driver, "[data-credit-balance]", "0 credits"), text_of(driver, CARD))
    check("a credit-priced model says what a message costs", wait_text(driver, '.model-card[data-model="claude-3-opus"]', "10 credits"),
          text_of(driver, '.model-card[data-model="claude-3-opus"]'))
    screenshots(driver, OUT, "offers")

    driver.find_element(By.CSS_SELECTOR, 'form[data-action="subscribe"] button').click()
    pay_on_stripe(driver)
    check("the return says the plan starts", wait_text(driver, "#notice", "Your plan starts"), text_of(driver, "#notice"))
    check("the premium models say the plan includes them", wait_text(driver, '.model-card[data-model="gpt-4o"]', "Included in your Pro plan")
          and not driver.find_elements(By.CSS_SELECTOR, '.model-card[data-model="gpt-4o"] form[data-action="buy"]'),
          text_of(driver, '.model-card[data-model="gpt-4o"]'))
    check("the plan shows with its renewal", wait_text(driver, "[data-plan]", "Pro") and wait_text(driver, "[data-plan-state]", "Renews at"),
          text_of(driver, CARD))
    check("a subscriber is not offered a second plan", not driver.find_elements(By.CSS_SELECTOR, 'form[data-action="subscribe"]'))
    check("a message on a premium model is paid by the plan", chat(BASE, TOKEN, "gpt-4o") == 200)
    driver.refresh()
    check("the allowance left counts it", wait_text(driver, "[data-allowance]", "99 messages left this period"), text_of(driver, CARD))

    driver.find_element(By.CSS_SELECTOR, 'form[data-action="buy-credits"] button').click()
    pay_on_stripe(driver)
    check("the return says the credits come", wait_text(driver, "#notice", "credits are added"), text_of(driver, "#notice"))
    check("the pack's credits are in the balance", wait_text(driver, "[data-credit-balance]", "100 credits"), text_of(driver, CARD))
    check("the ledger lists the purchase", wait_text(driver, "[data-credit-ledger]", "Credit pack")
          and wait_text(driver, "[data-credit-ledger]", "+100"), text_of(driver, CARD))
    screenshots(driver, OUT, "plan-and-credits")

    driver.find_element(By.CSS_SELECTOR, 'form[data-action="portal"] button').click()
    check("manage opens the billing portal", wait_text(driver, "#portal", "Billing portal for cus_"), driver.current_url)
    find(driver, "#return").click()
    wait(driver).until(lambda d: d.current_url == BASE + "/settings")
    check("the portal returns to the settings page", find(driver, CARD) is not None)
finally:
    driver.quit()
finish()
