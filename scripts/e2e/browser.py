"""Shared helpers for the headless-Chromium end-to-end checks (Selenium driving Debian's chromium)."""
import base64
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WIDTHS = (375, 768, 1280)
FAILURES = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f" — {detail}"), flush=True)
    if not ok:
        FAILURES.append(name)


def finish():
    print(f"{len(FAILURES)} browser check(s) failed" if FAILURES else "all browser checks passed", flush=True)
    sys.exit(1 if FAILURES else 0)


def scenario():
    return json.loads(sys.argv[1])


def browser(javascript=True):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                     "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    return driver


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds)


def find(driver, css):
    return wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def text_of(driver, css):
    """The element's text, or "" while it is missing, being replaced by the page's refresh, or the
    browser is between two pages (a form post's answer is loading)."""
    try:
        elements = driver.find_elements(By.CSS_SELECTOR, css)
        return elements[0].text if elements else ""
    except WebDriverException:
        return ""


def wait_text(driver, css, needle, seconds=10):
    """Waits until the element matching `css` contains `needle`; returns whether it did."""
    try:
        wait(driver, seconds).until(lambda d: needle in text_of(d, css))
        return True
    except Exception:
        return False


def screenshots(driver, out, name, viewport_only=False):
    """Full-page PNGs at each width; checks that nothing sticks out sideways."""
    os.makedirs(out, exist_ok=True)
    for width in WIDTHS:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
        driver.execute_script("return document.body.offsetHeight")
        overflow = driver.execute_script("return document.documentElement.scrollWidth") - width
        check(f"{name} at {width}px has no horizontal overflow", overflow <= 0, f"{overflow}px too wide")
        height = 900 if viewport_only else driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        with open(os.path.join(out, f"{name}-{width}.png"), "wb") as file:
            file.write(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def sign_in(driver, base, token):
    """Signs in as a person would: the token goes into the sign-in form (never a URL), the page
    names the account, and its button opens the session."""
    driver.get(base + "/login")
    find(driver, "details summary").click()
    find(driver, "#token").send_keys(token)
    find(driver, "details button[type=submit]").click()
    find(driver, "[data-continue]").click()
    wait(driver).until(EC.url_to_be(base + "/settings"))
    find(driver, "h1")


def chat(base, token, model, persona="career", end_user=None):
    """Sends one chat message through the API, as the app would (a service key names its end user);
    returns the HTTP status."""
    body = json.dumps({"message": "Hello coach", "personaId": persona, "modelId": model}).encode()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "text/event-stream"}
    if end_user:
        headers["X-Modelgate-User"] = end_user
    request = urllib.request.Request(base + "/api/chat", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
