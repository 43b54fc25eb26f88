"""The status page in a real browser: Debian's chromium, headless, driven by selenium
through chromedriver, over the API served by uvicorn on the real stack.

The test logs in through the form, follows a batch job holding one bad document until its
page says it finished (the page reloads itself: there is no script), sees the failure's
reason, searches from the search box, and keeps screenshots as artifacts in
INGEST_TEST_ARTIFACTS (default: test-artifacts/ in the repository). Without chromium or
chromedriver it skips, saying why; under CI (CI set) a missing browser fails it.
"""

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.interfaces.http import auth
from ingest_tasks.interfaces.http.api import create_api
from ingest_tasks.testing.stacks import free_port
from tests.corpus import CORPUS_DIR

ARTIFACTS = Path(os.environ.get("INGEST_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "test-artifacts")
JOB_TIMEOUT = 300  # seconds for a small batch job on a busy machine
QUERY = "which whale has a spiral tusk?"
BAD_NAME = "<img src=x onerror=alert(1)>.pdf"  # an encrypted PDF under a hostile name
DOCUMENTS = {
    "narwhals.md": "# Narwhals\n\nThe narwhal is a whale of the Arctic whose long spiral tusk "
                   "is a tooth, growing through its upper lip.\n",
    "cranes.md": "# Harbour cranes\n\nA ship-to-shore gantry crane lifts containers from the "
                 "deck of a ship onto trucks waiting on the quay.\n",
    "sourdough.md": "# Sourdough\n\nA sourdough starter is flour and water fermented by wild "
                    "yeast and lactic acid bacteria; feed it daily.\n",
}


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """The paths of chromium and chromedriver; skip (fail under CI) without them."""
    found = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    missing = [name for name, path in found.items() if not path]
    if missing:
        why = (f"{' and '.join(missing)} not found: the status page's browser test needs "
               "Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return found["chromium"], found["chromedriver"]


@pytest.fixture(scope="module")
def page_key() -> tuple[str, str]:
    """A read key for the browser: (secret, INGEST_API_KEYS entry)."""
    return auth.new_key("browser", auth.READ)


@pytest.fixture(scope="module")
def base_url(settings, page_key):
    """The HTTP API over the test stack, served by uvicorn in a thread of this process."""
    import uvicorn

    api = create_api(IngestClient(settings.model_copy(update={"api_keys": page_key[1]})))
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="status-page-api", daemon=True)
    thread.start()
    poll_until(lambda: server.started or not thread.is_alive(), 60, "uvicorn serving the API")
    assert server.started, "uvicorn stopped before serving (see its log above)"
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser(chromium, request):
    """Headless chromium; its last page is kept as a screenshot, whatever the outcome."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(chromium[1]))
    try:
        yield driver
    finally:
        try:
            keep(driver, f"{request.node.name}-last")
        finally:
            driver.quit()


def keep(driver, name: str) -> Path:
    """Save a screenshot of the page as an artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def until(driver, check, timeout: float = 60):
    """Call `check(driver)` until it answers something true; the page may reload under it
    (the status page reloads itself), so a vanished or stale element means: look again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(check)


def log_in(driver, secret: str) -> None:
    """Send the login form with `secret`."""
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, "key")
    field.clear()
    field.send_keys(secret)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()


def job_folder(tmp_path: Path) -> Path:
    """Three good documents and an encrypted PDF under a hostile name."""
    folder = tmp_path / "page-job"
    folder.mkdir()
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text)
    shutil.copy(CORPUS_DIR / "pypdf__crazyones-encrypted-256.pdf", folder / BAD_NAME)
    return folder


def test_log_in_follow_a_job_and_search(chromium, browser, base_url, page_key, client, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(base_url + "/jobs/anything")
    assert urlparse(browser.current_url).path == "/login"  # no key: sent to the form
    log_in(browser, "ik_not-a-key")
    problem = until(browser, lambda d: d.find_element(By.ID, "login-problem"))
    assert problem.text == "unknown API key"
    log_in(browser, page_key[0])
    until(browser, lambda d: urlparse(d.current_url).path == "/"
          and d.find_element(By.ID, "jobs"))
    cookie = browser.get_cookie(auth.COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    job_id = client.submit_batch([job_folder(tmp_path)])
    browser.refresh()
    until(browser, lambda d: d.find_element(By.LINK_TEXT, job_id).click() or True)
    until(browser, lambda d: urlparse(d.current_url).path == f"/jobs/{job_id}")
    status = until(browser, lambda d: (text := d.find_element(By.ID, "job-status").text)
                   in ("finished", "error") and text, JOB_TIMEOUT)
    assert status == "finished"
    assert browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]') == []
    assert browser.find_element(By.ID, "count-committed").text == str(len(DOCUMENTS))
    assert browser.find_element(By.ID, "count-failed").text == "1"
    assert "encrypted" in browser.find_element(By.ID, "failures-by-reason").text
    [row] = browser.find_elements(By.CSS_SELECTOR, "tr.failure")
    assert row.find_element(By.CLASS_NAME, "doc-id").text == BAD_NAME  # shown, not run
    assert row.find_element(By.CLASS_NAME, "reason").text.startswith("encrypted: ")
    assert browser.find_elements(By.TAG_NAME, "img") == []
    keep(browser, "status-page-job")

    browser.find_element(By.LINK_TEXT, "Back to the status page").click()

    def searched(driver):
        box = driver.find_element(By.NAME, "q")
        if not box.get_attribute("value"):  # the page without results (maybe reloaded since)
            box.send_keys(QUERY, Keys.ENTER)
        return driver.find_element(By.ID, "search-results")

    results = until(browser, searched)
    found = [cell.text for cell in results.find_elements(By.CSS_SELECTOR, "tr.hit .doc-id")]
    assert found and found[0] == "narwhals.md", found
    assert browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]') == []
    assert browser.find_element(By.NAME, "q").get_attribute("value") == QUERY
    keep(browser, "status-page")
