"""Drives the dashboard in a real headless Chromium (Debian's chromium and chromedriver,
through Selenium's WebDriver client), as a merchant would.

Usage: dashboard_browser.py BASE_URL ADMIN_TOKEN PAID_REFERENCE CREDITED FAILED_EVENT_ID SHOT_DIR

Signs in, finds the paid payment with its exact credit, opens the failed event, presses
Replay, and checks that the event is now applied. Saves a screenshot of each main page in
SHOT_DIR. Prints "dashboard ok" on success; any failed check exits non-zero with a message.
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, token, reference, credited, failed_id, shots = sys.argv[1:7]
os.makedirs(shots, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for flag in (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
):
    options.add_argument(flag)
driver = webdriver.Chrome(
    service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options
)
driver.set_page_load_timeout(30)


def check(condition, message):
    if not condition:
        shot = os.path.join(shots, "failure.png")
        driver.save_screenshot(shot)
        sys.exit(f"{message} (url {driver.current_url}; screenshot {shot})\n{driver.page_source[:3000]}")


def arrive(suffix, message):
    """Waits (bounded) until the browser is at a URL ending with suffix."""
    try:
        WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith(suffix))
    except TimeoutException:
        check(False, message)


def shows(css, text, message):
    """Waits (bounded) until an element matching css contains text."""
    try:
        WebDriverWait(driver, 15).until(
            lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css))
        )
    except TimeoutException:
        check(False, message)


try:
    # Signed out: the dashboard sends the browser to the sign-in form.
    driver.get(base + "/dashboard")
    arrive("/dashboard/login", "not sent to the sign-in form")
    driver.save_screenshot(os.path.join(shots, "login.png"))
    driver.find_element(By.NAME, "token").send_keys("not-the-token")
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    shows("p.notice", "not the admin token", "a wrong token was not refused")
    driver.find_element(By.NAME, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    arrive("/dashboard", "sign-in did not reach the overview")
    cookie = driver.get_cookie("payram_session")
    check(cookie is not None and cookie["httpOnly"] and cookie["secure"], f"cookie {cookie}")
    check(cookie.get("sameSite") == "Strict", f"cookie {cookie}")

    # The paid payment is listed with its exact credit; the failed event needs attention.
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-reference="{reference}"]')
    check(row.find_element(By.CSS_SELECTOR, "td.credited").text == credited, f"row: {row.text}")
    check("Needs attention" in driver.page_source, "the failed event is not prominent")
    failed_row = driver.find_element(By.CSS_SELECTOR, f'tr[data-event="{failed_id}"]')
    check("failed" in failed_row.text, f"failed row: {failed_row.text}")
    driver.save_screenshot(os.path.join(shots, "overview.png"))

    # The payment's timeline.
    row.find_element(By.CSS_SELECTOR, "a").click()
    shows("h1", reference, "payment page")
    driver.save_screenshot(os.path.join(shots, "payment.png"))

    # The failed event, its raw body, and the Replay button.
    driver.get(base + "/dashboard/events?outcome=failed")
    driver.save_screenshot(os.path.join(shots, "events-failed.png"))
    driver.find_element(By.CSS_SELECTOR, f'tr[data-event="{failed_id}"] a').click()
    shows("pre.raw", "reference_id", "raw body")
    driver.save_screenshot(os.path.join(shots, "event-failed.png"))
    driver.find_element(By.CSS_SELECTOR, "button.replay").click()
    shows("p.notice", "applied", "the replay did not apply the event")
    check(driver.find_element(By.CSS_SELECTOR, "h1 .badge").text == "applied", "event outcome")
    check(not driver.find_elements(By.CSS_SELECTOR, "button.replay"), "replay button still shown")
    driver.save_screenshot(os.path.join(shots, "event-replayed.png"))

    # Signing out ends the session.
    driver.find_element(By.CSS_SELECTOR, "button.link").click()
    arrive("/dashboard/login", "signing out did not lead to the sign-in form")
    driver.get(base + "/dashboard")
    arrive("/dashboard/login", "still signed in after signing out")
    print("dashboard ok")
finally:
    driver.quit()
