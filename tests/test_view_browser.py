"""The view in a real browser: ``clustersim view`` on a free 127.0.0.1 port, driven by headless
Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium.

The test loads the page, moves a lever (the animation subsidy to zero), rebuilds the model with
Reset, steps it through its first year and checks that the panels changed (their captions and
the clusters' figure) and that the lever took effect (no animation subsidy paid in 2001).  The
screenshots are saved in ``tests/output/view/`` (or ``$CLUSTERSIM_TEST_OUTPUT/view/``), CI's
artefacts.  Every wait is on a condition with a timeout, none on a fixed sleep.

Without Chromium, chromedriver or Selenium the test is skipped on a developer's machine and
fails in CI (``CI`` set), where ``.ci/run`` installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1500,1300")
SERVER_TIMEOUT = 120  # s: importing Solara and the model and loading Numba's cache, under load
WAIT = 60  # s: the longest wait for one thing on the page


def _require() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
        import solara  # noqa: F401
    except ImportError as exc:
        missing.append(exc.name)
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test needs {missing} (see .ci/run)")
        pytest.skip(f"needs {missing}: apt-get install -y chromium chromium-driver; "
                    "pip install -e '.[dev]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _output_dir() -> Path:
    root = Path(os.environ.get("CLUSTERSIM_TEST_OUTPUT", Path(__file__).parent / "output"))
    out = root / "view"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def server(tmp_path):
    """``clustersim view`` on a free port; yields its URL; stopped afterwards."""
    _require()
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    exe = Path(sys.executable).with_name("clustersim")
    proc = subprocess.Popen([str(exe), "view", "--port", str(port)], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server ended ({proc.returncode}): "
                            f"{(tmp_path / 'server.log').read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the server did not answer within "
                                f"{SERVER_TIMEOUT} s: "
                                f"{(tmp_path / 'server.log').read_text(errors='replace')[-3000:]}")
                time.sleep(0.25)  # polling the port, not waiting for an outcome
        yield url
    finally:
        proc.terminate()  # the server is the process (clustersim view execs Solara's)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # uvicorn's graceful shutdown waits for sockets
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture
def browser():
    _require()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="clustersim-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_view_in_a_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT, poll_frequency=0.2)
    out = _output_dir()

    def captions() -> list[str]:
        return [e.text for e in browser.find_elements(By.CLASS_NAME, "clustersim-caption")]

    def panel_image(title: str) -> str:
        card = browser.find_element(
            By.XPATH, f"//div[contains(@class,'clustersim-panel')][.//*[text()={title!r}]]")
        return card.find_element(By.TAG_NAME, "img").get_attribute("src")

    def button(label: str):
        return browser.find_element(By.XPATH, f"//button[normalize-space(.)={label!r}]")

    def step_to(n: int) -> None:
        wait.until(lambda d: button("Step").is_enabled())
        button("Step").click()
        wait.until(lambda d: d.find_elements(By.XPATH, f"//*[normalize-space(text())='Step: {n}']"))

    browser.get(server)
    wait.until(lambda d: len(captions()) == 5)
    assert all(c.startswith("No year has ended yet") for c in captions()[:4]), captions()
    before = panel_image("Clusters and members")
    assert "Animation subsidy, kEUR/yr: 150" in browser.page_source

    def levers_in_force() -> list[str]:
        card = browser.find_element(
            By.XPATH, "//div[contains(@class,'clustersim-panel')][.//*[text()='Levers in force']]")
        return [li.text for li in card.find_elements(By.TAG_NAME, "li")]

    levers = levers_in_force()

    # move a control: the animation subsidy to its lowest value (0), then rebuild the model
    slider = browser.find_element(
        By.XPATH, "//div[contains(@class,'v-input')][.//label[normalize-space(.)="
                  "'Animation subsidy, kEUR/yr']]//*[@role='slider']")
    slider.send_keys(Keys.HOME)
    wait.until(lambda d: slider.get_attribute("aria-valuenow") in ("0", "0.0"))
    button("Reset").click()
    wait.until(lambda d: "Animation subsidy, kEUR/yr: 0" in d.page_source)
    # Reset rebuilt the model with the moved lever and every other lever as it was
    assert levers_in_force()[1:] == levers[1:], (levers, levers_in_force())

    # step through the first year: the panels show 2001
    for n in range(1, 5):
        step_to(n)
    wait.until(lambda d: captions() and captions()[0].startswith("2001:"))
    wait.until(lambda d: panel_image("Clusters and members") != before)
    got = captions()
    browser.save_screenshot(str(out / "view_after_first_year.png"))
    assert got[0].startswith("2001: 4 active clusters"), got
    assert got[2].startswith("2001: animation subsidy 0 kEUR"), got  # the lever took effect
    assert got[4].startswith("Q4 2001:"), got
