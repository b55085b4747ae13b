"""The server-drawn SVG charts (SVGChart.swift) in headless Chromium, at 375, 768 and 1280 px.

A user buys a premium model through the fake Stripe's hosted checkout and looks at /settings; an
admin looks at /admin/margin, each /admin/models/{id}/stats in scenario["stats"] and /settings. On
every page and width: a full-page screenshot `<page>-<width>.png` (its height printed) in
scenario["out"]; every chart's bars (`rect[data-series][data-label][data-value]`) hold exactly the
figures of the table folded under it (a closed `<details>`, read through textContent, which a closed
disclosure keeps); the drawing takes its card's full width; every bar has a finite, non-negative
width and height and lies inside its drawing; the drawing's text neither overlaps nor leaves the
drawing and is at least 9 px; the page does not scroll sideways; the console shows no
Content-Security-Policy violation. The figures add up to what the scenario sent (scenario["expect"]).
Exits 1 naming each failed check."""
import base64
import math
import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from browser import WIDTHS, check, find, finish, scenario, sign_in, wait, wait_text, text_of

S = scenario()
BASE, OUT, EXPECT = S["base"], S["out"], S["expect"]

# Collects the page's own `securitypolicyviolation` events, installed before any of its scripts run.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' ' + (e.sample || ''));
});
"""

# Every chart on the page: its bars, its table's cells, and the drawing's geometry as rendered.
READ_CHARTS = """
function shown(el) {
  for (; el; el = el.parentElement) { if (getComputedStyle(el).display === 'none') return false; }
  return true;
}
function box(el) { const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, height: b.height}; }
return Array.from(document.querySelectorAll('figure.chart')).map(function (figure, index) {
  const svg = figure.querySelector('svg.chart-svg');
  const after = figure.nextElementSibling;
  const table = after && (after.matches('table.chart-table') ? after : after.querySelector('table.chart-table'));
  const chart = {
    index: index,
    id: svg ? (svg.getAttribute('aria-labelledby') || '').replace(/-title$/, '') : null,
    title: (figure.querySelector('figcaption') || {}).textContent || '',
    hasSvg: !!svg, hasTable: !!table, rects: [], cells: [], texts: [], tableRows: 0,
    folded: !!(after && after.matches('details.chart-figures:not([open])') && table && after.contains(table)),
  };
  if (svg) {
    const viewBox = (svg.getAttribute('viewBox') || '').split(/\\s+/).map(Number);
    chart.svg = box(svg);
    chart.figure = box(figure);
    // Without a viewBox the drawing is in CSS pixels.
    chart.scale = viewBox.length === 4 && viewBox[2] > 0 ? chart.svg.width / viewBox[2] : 1;
    const card = getComputedStyle(figure.parentElement);
    chart.cardWidth = figure.parentElement.clientWidth - parseFloat(card.paddingLeft) - parseFloat(card.paddingRight);
    chart.rects = Array.from(svg.querySelectorAll('rect')).map(function (r) {
      return {series: r.getAttribute('data-series'), label: r.getAttribute('data-label'), value: r.getAttribute('data-value'),
              width: r.getAttribute('width'), height: r.getAttribute('height'), box: box(r)};
    });
    // The labels written for other widths of the drawing are hidden (app.css): only the shown ones count.
    chart.texts = Array.from(svg.querySelectorAll('text')).filter(shown).map(function (t) {
      return {text: t.textContent, box: box(t), fontSize: parseFloat(getComputedStyle(t).fontSize)};
    });
  }
  if (table) {
    const heads = Array.from(table.querySelectorAll('thead th')).map(function (th) { return th.textContent; });
    chart.tableCaption = (table.querySelector('caption') || {}).textContent || '';
    Array.from(table.querySelectorAll('tbody tr')).forEach(function (tr) {
      const th = tr.querySelector('th[scope=row]');
      if (!th) return;
      chart.tableRows += 1;
      Array.from(tr.querySelectorAll('td')).forEach(function (td, i) {
        chart.cells.push({series: heads[i + 1], label: th.textContent, value: td.getAttribute('data-value'), text: td.textContent});
      });
    });
  }
  return chart;
});
"""


def logging_browser():
    """browser.browser() with the console kept (goog:loggingPrefs) and the CSP listener installed."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                     "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_LISTENER})
    return driver


def csp_messages(driver):
    """The Content-Security-Policy violations the console and the page saw since the last call."""
    found = []
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        if "Content Security Policy" in message or "Content-Security-Policy" in message:
            found.append(f"console {entry.get('level')}: {message}")
        elif entry.get("level") == "SEVERE":
            print(f"     (console, not a CSP violation: {message})", flush=True)
    found += ["event: " + v for v in (driver.execute_script("return window.__cspViolations || []") or [])]
    driver.execute_script("if (window.__cspViolations) window.__cspViolations.length = 0")
    return found


def set_viewport(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_script("return document.body.offsetHeight")  # lays the page out at the new size


def screenshot(driver, width, path):
    height = driver.execute_script("return document.documentElement.scrollHeight")
    print(f"     ({os.path.basename(path)}: the page is {height} px tall)", flush=True)
    set_viewport(driver, width, height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    with open(path, "wb") as file:
        file.write(base64.b64decode(shot["data"]))


def number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def length(text):
    """A coordinate attribute's number: user units (CSS pixels) or a percentage of the drawing's width."""
    return number(text[:-1] if isinstance(text, str) and text.endswith("%") else text)


def integer(text):
    return int(text) if isinstance(text, str) and text.lstrip("-").isdigit() else None


def overlap(a, b, slack=0.5):
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack


def check_chart(where, chart):
    name = f"{where}: chart {chart['id'] or chart['index']} ({chart['title']})"
    check(f"{name} has a drawing and a table", chart["hasSvg"] and chart["hasTable"], chart)
    if not (chart["hasSvg"] and chart["hasTable"]):
        return
    check(f"{name}: the table is folded in a closed disclosure right under the chart", chart["folded"])
    check(f"{name} takes its card's full width", chart["svg"]["width"] >= chart["cardWidth"] - 1,
          f"drawing {chart['svg']['width']:.1f} px in a card {chart['cardWidth']:.1f} px wide")

    # The bars and the table carry the same figures, label by label and series by series.
    bars, cells, bad = {}, {}, []
    for r in chart["rects"]:
        value = integer(r["value"])
        if value is None or r["series"] is None or r["label"] is None:
            bad.append(f"rect {r}")
        key = (r["series"], r["label"])
        if key in bars:
            bad.append(f"two bars for {key}")
        bars[key] = value
    for c in chart["cells"]:
        value = integer(c["value"])
        if value is None:
            bad.append(f"cell {c}")
        cells[(c["series"], c["label"])] = value
    check(f"{name}: every bar and cell carries an exact integer", not bad, "; ".join(bad[:5]))
    check(f"{name} draws bars", len(bars) > 0, "no rect[data-value]")
    missing_in_table = sorted(set(bars) - set(cells))
    missing_in_chart = sorted(set(cells) - set(bars))
    check(f"{name}: the table has a cell for every bar and the drawing a bar for every cell",
          not missing_in_table and not missing_in_chart, f"only drawn: {missing_in_table[:5]}; only in the table: {missing_in_chart[:5]}")
    differing = [f"{key}: bar {bars[key]} ≠ cell {cells[key]}" for key in sorted(set(bars) & set(cells)) if bars[key] != cells[key]]
    check(f"{name}: each bar's value equals its table cell's", not differing, "; ".join(differing[:5]))
    check(f"{name}: the table's caption is the chart's title", chart.get("tableCaption") == chart["title"],
          f"{chart.get('tableCaption')!r} vs {chart['title']!r}")

    # Geometry: finite, non-negative sizes, inside the drawing, the drawing inside the viewport.
    sizes = [r for r in chart["rects"] if length(r["width"]) is None or length(r["height"]) is None
             or length(r["width"]) < 0 or length(r["height"]) < 0
             or not all(math.isfinite(r["box"][k]) and r["box"][k] >= 0 for k in ("width", "height"))]
    check(f"{name}: every bar has a finite, non-negative width and height", not sizes,
          "; ".join(f"{r['label']}/{r['series']}: width={r['width']!r} height={r['height']!r} box={r['box']}" for r in sizes[:5]))
    svg = chart["svg"]
    outside = [r for r in chart["rects"] if r["box"]["left"] < svg["left"] - 1 or r["box"]["right"] > svg["right"] + 1
               or r["box"]["top"] < svg["top"] - 1 or r["box"]["bottom"] > svg["bottom"] + 1]
    check(f"{name}: every bar lies inside the drawing", not outside,
          "; ".join(f"{r['label']}/{r['series']} {r['box']} outside {svg}" for r in outside[:5]))

    texts = chart["texts"]
    sticking_out = [t for t in texts if t["box"]["left"] < svg["left"] - 1 or t["box"]["right"] > svg["right"] + 1]
    check(f"{name}: the drawing's text stays inside it", not sticking_out,
          "; ".join(f"{t['text']!r} {t['box']['left']:.1f}–{t['box']['right']:.1f} outside {svg['left']:.1f}–{svg['right']:.1f}" for t in sticking_out[:5]))
    clashes = [f"{a['text']!r} and {b['text']!r}" for i, a in enumerate(texts) for b in texts[i + 1:] if overlap(a["box"], b["box"])]
    check(f"{name}: no two labels of the drawing overlap", not clashes, "; ".join(clashes[:5]))
    small = [t for t in texts if not (t["fontSize"] * chart["scale"] >= 9)]
    check(f"{name}: the drawing's text is at least 9 px", not small,
          "; ".join(f"{t['text']!r} at {t['fontSize'] * chart['scale']:.1f}px" for t in small[:5]))


def series_total(chart, series):
    return sum(integer(r["value"]) or 0 for r in chart["rects"] if r["series"] == series)


def look_at(driver, path, name, want_ids, totals=(), nonzero=()):
    """Opens `path`; at each width checks the page and its charts, then screenshots it.
    `totals`: (chart id, series, expected sum); `nonzero`: chart ids with at least one value ≠ 0."""
    driver.get(BASE + path)
    find(driver, "main")
    csp_messages(driver)  # the page load's (checked below with the resizes')
    violations = []
    for width in WIDTHS:
        set_viewport(driver, width, 900)
        where = f"{name} at {width}px"
        # A phone's layout viewport can grow to fit content that is too wide, so the limit is the
        # width asked for as well as innerWidth.
        inner = min(width, driver.execute_script("return window.innerWidth"))
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        check(f"{where} does not scroll sideways", scroll <= inner + 1, f"scrollWidth {scroll} > {inner}")
        charts = driver.execute_script(READ_CHARTS)
        ids = [c["id"] for c in charts]
        check(f"{where} shows the charts {want_ids}", all(i in ids for i in want_ids), f"found {ids}")
        check(f"{where}: each chart has its own id", len(set(ids)) == len(ids), f"found {ids}")
        for chart in charts:
            check_chart(where, chart)
            if chart["hasSvg"]:
                check(f"{where}: chart {chart['id']} is no wider than the page", chart["figure"]["right"] <= inner + 1,
                      f"figure right {chart['figure']['right']:.1f} > {inner}")
        by_id = {c["id"]: c for c in charts}
        for chart_id in nonzero:
            values = [integer(r["value"]) for r in by_id.get(chart_id, {}).get("rects", [])]
            check(f"{where}: chart {chart_id} has a value that is not zero", any(values), values)
        for chart_id, series, want in totals:
            got = series_total(by_id.get(chart_id, {"rects": []}), series)
            check(f"{where}: chart {chart_id}, {series} adds up to {want}", got == want, f"got {got}")
        screenshot(driver, width, os.path.join(OUT, f"{name}-{width}.png"))
        violations += csp_messages(driver)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    open_figures(driver, name)
    check(f"{name}: the console shows no Content-Security-Policy violation", not violations, "; ".join(violations[:5]))


def open_figures(driver, name):
    """A person opens the first chart's figures: its summary shows the table, and folds it again."""
    summary = find(driver, "details.chart-figures summary")
    summary.click()
    table = driver.find_element(By.CSS_SELECTOR, "details.chart-figures table.chart-table")
    check(f"{name}: “Show the figures” opens the first chart's table", table.is_displayed() and table.text.strip() != "",
          repr(table.text[:80]))
    summary.click()
    check(f"{name}: clicking it again folds the table", not table.is_displayed())


def canary(driver):
    """Shows that a violation would be seen: an inline style attribute, which the CSP refuses."""
    driver.execute_script("const p = document.createElement('p'); p.setAttribute('style', 'color: red'); document.body.appendChild(p);")
    return wait(driver, 5).until(lambda d: csp_messages(d) or None)


os.makedirs(OUT, exist_ok=True)
user, admin = logging_browser(), logging_browser()
try:
    # The user buys GPT-4o through the hosted checkout (revenue for today), then reads their week.
    sign_in(user, BASE, S["user"]["token"])
    card = '.model-card[data-model="%s"]' % S["buy"]
    find(user, card + ' form[data-action="buy"] button').click()
    find(user, "#pay").click()
    wait(user, 20).until(lambda d: "/settings?checkout=success" in d.current_url)
    check("the purchase shows Purchased", wait_text(user, card, "Purchased"), text_of(user, card))
    look_at(user, "/settings", "settings-user", ["week"], totals=[("week", "Messages", EXPECT["userWeek"])], nonzero=["week"])
    user.get(BASE + "/admin/margin")
    find(user, "body")
    check("a user is not shown the margin page's charts", not user.find_elements(By.CSS_SELECTOR, "figure.chart"),
          user.current_url)
    csp_messages(user)
    user.get(BASE + "/settings")
    find(user, "main")
    csp_messages(user)
    try:
        seen = canary(user)
        print("     (the canary's violation: " + " | ".join(seen) + ")", flush=True)
        check("an inline style is reported as a CSP violation (so the checks above can fail)", bool(seen))
    except Exception as error:
        check("an inline style is reported as a CSP violation (so the checks above can fail)", False, repr(error))

    sign_in(admin, BASE, S["admin"]["token"])
    look_at(admin, "/admin/margin", "margin", ["cost-revenue", "cost", "messages", "top-spenders"],
            totals=[("cost-revenue", "Provider cost", EXPECT["costMicros"]), ("cost-revenue", "Revenue", EXPECT["revenueMicros"]),
                    ("cost", "Provider cost", EXPECT["costMicros"]), ("messages", "Messages", EXPECT["messages"]),
                    ("top-spenders", "Provider cost", EXPECT["costMicros"])],
            nonzero=["cost-revenue", "cost", "messages", "top-spenders"])
    for model, figures in EXPECT["models"].items():
        look_at(admin, f"/admin/models/{model}/stats", f"stats-{model}", ["messages", "cost-revenue"],
                totals=[("messages", "Messages", figures["messages"]), ("cost-revenue", "Provider cost", figures["costMicros"]),
                        ("cost-revenue", "Revenue", figures["revenueMicros"])],
                nonzero=["messages", "cost-revenue"])
    look_at(admin, "/settings", "settings-admin", ["week"], totals=[("week", "Messages", EXPECT["adminWeek"])], nonzero=["week"])
finally:
    user.quit()
    admin.quit()
finish()
