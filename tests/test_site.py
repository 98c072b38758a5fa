"""The published site: it builds in strict mode, and a real browser sees its content.

The browser check opens the built site in headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by `make test` where it may) and asserts what a reader would see:
the pages' text, a Mermaid diagram rendered to SVG, and a notebook's outputs. Screenshots go to
`build/screenshots/`. Without Chromium the check fails: a browser test that skips proves nothing.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
SITE_BUILD_BUDGET_SECONDS = 30

LESSON_URL = "notebooks/00-lambda-realities/01-sqs-batch-size/"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    print(f"site built in {elapsed:.1f} s")
    assert elapsed < SITE_BUILD_BUDGET_SECONDS, f"site build took {elapsed:.1f} s"
    return site_dir


def test_site_builds_with_every_page(built_site: Path) -> None:
    lessons = sorted(p.relative_to(PROJECT_ROOT) for p in PROJECT_ROOT.glob("notebooks/*/*.ipynb"))
    assert len(lessons) >= 11
    for page in ["index.html", "00-lambda-realities/index.html", "01-event-pipeline/index.html",
                 "03-error-handling/index.html", "labs/index.html", "instructors/index.html",
                 "glossary/index.html"] + [f"{p.with_suffix('')}/index.html" for p in lessons]:
        assert (built_site / page).is_file(), f"{page} missing from the built site"
    lesson = (built_site / LESSON_URL / "index.html").read_text()
    assert "jp-OutputArea" in lesson, "the lesson page has no notebook output"


def test_pages_have_unique_titles_and_lessons_a_download_link(built_site: Path) -> None:
    titles: dict[str, list[str]] = {}
    lessons = 0
    for page in sorted(built_site.rglob("index.html")):
        html = page.read_text()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
        titles.setdefault(title, []).append(str(page.relative_to(built_site)))
        notebook = page.parent / f"{page.parent.name}.ipynb"  # mkdocs-jupyter's copy (include_source)
        if notebook.is_file():
            lessons += 1
            assert f'href="/{notebook.relative_to(built_site).as_posix()}" download' in html, (
                f"{page.relative_to(built_site)} has no link to download its notebook")
    assert lessons >= 11
    duplicated = {title: pages for title, pages in titles.items() if len(pages) > 1}
    assert not duplicated, f"pages share a title (browser tabs, search results, footer): {duplicated}"


def test_fidelity_table_is_grouped_by_area(built_site: Path) -> None:
    page = (built_site / "simulator-fidelity" / "index.html").read_text()
    areas = re.findall(r'<details class="note">\s*<summary>([^<]*): (\d+) rules?</summary>', page)
    assert len(areas) >= 10, "the fidelity table should be one collapsed block per simulator area"
    assert sum(int(count) for _, count in areas) >= 100


def test_not_found_page_leads_back_home(built_site: Path) -> None:
    not_found = (built_site / "404.html").read_text()
    assert "Page not found" in not_found
    assert "Back to the course home page" in not_found


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail(
            "The browser check needs Debian's `chromium` and `chromium-driver` "
            "(`make test` installs them when run as root; otherwise: "
            "sudo apt-get install chromium chromium-driver)."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1600"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def open_page(browser, url: str, ready_selector: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ready_selector))
    )


def rendered_mermaid_svgs(browser) -> int:
    """Count SVGs inside rendered Mermaid diagrams.

    Material renders each diagram into a *closed* shadow root, which page scripts cannot read;
    the DevTools protocol can pierce it.
    """
    document = browser.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})

    def walk(node: dict, inside_mermaid: bool) -> int:
        attributes = node.get("attributes", [])
        classes = dict(zip(attributes[::2], attributes[1::2])).get("class", "").split()
        inside = inside_mermaid or (node.get("nodeName") == "DIV" and "mermaid" in classes)
        found = 1 if inside and node.get("nodeName", "").lower() == "svg" else 0
        for child in node.get("children", []) + node.get("shadowRoots", []):
            found += walk(child, inside)
        return found

    return walk(document["root"], False)


def test_landing_page_shows_course_map(browser, site_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, site_url, "article")
    body = browser.find_element("css selector", "article").text
    assert "What you will learn" in body
    assert "Run it locally" in body
    assert "Start here" in body
    WebDriverWait(browser, 20).until(lambda b: rendered_mermaid_svgs(b) > 0)
    browser.save_screenshot(str(SCREENSHOTS / "landing.png"))


def test_module_page_shows_diagram_and_code(browser, site_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, site_url + "00-lambda-realities/", "article")
    body = browser.find_element("css selector", "article").text
    assert "ReportBatchItemFailures" in body
    assert browser.find_elements("css selector", "article .highlight code"), "no code shown"
    WebDriverWait(browser, 20).until(lambda b: rendered_mermaid_svgs(b) > 0)
    browser.save_screenshot(str(SCREENSHOTS / "module-00.png"))


def test_lesson_page_shows_notebook_outputs(browser, site_url: str) -> None:
    open_page(browser, site_url + LESSON_URL, ".jp-OutputArea-output")
    outputs = browser.find_elements("css selector", ".jp-OutputArea-output")
    assert any(output.is_displayed() and output.text.strip() for output in outputs)
    plots = browser.find_elements("css selector", ".jp-OutputArea-output img")
    assert any(
        browser.execute_script("return arguments[0].naturalWidth", plot) > 0 for plot in plots
    ), "no plot image rendered in the lesson"
    browser.save_screenshot(str(SCREENSHOTS / "lesson-00-01.png"))


def test_a_lesson_figure_opens_full_size_on_click(browser, site_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, site_url + LESSON_URL, ".jp-OutputArea-output img")
    figure = browser.find_element("css selector", ".jp-OutputArea-output a.glightbox img")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    figure.click()
    WebDriverWait(browser, 10).until(
        lambda b: any(img.is_displayed() for img in b.find_elements("css selector", ".glightbox-container .gslide-image img")))
    browser.save_screenshot(str(SCREENSHOTS / "lesson-00-01-zoomed.png"))


def test_pipeline_error_handling_and_simulator_pages_show_diagrams(browser, site_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    for page, text in [("01-event-pipeline/", "PutEvents"), ("03-error-handling/", "StartMessageMoveTask"),
                       ("simulator/", "Fidelity table")]:
        open_page(browser, site_url + page, "article")
        assert text in browser.find_element("css selector", "article").text
        WebDriverWait(browser, 20).until(lambda b: rendered_mermaid_svgs(b) > 0)
        browser.save_screenshot(str(SCREENSHOTS / (page.strip("/") + ".png")))


def test_fidelity_page_opens_as_a_short_list_of_areas(browser, site_url: str) -> None:
    open_page(browser, site_url + "simulator-fidelity/", "article details")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    assert height < 5000, f"the fidelity page is {height} px tall with every area collapsed"
    browser.find_element("css selector", "article details summary").click()
    assert browser.find_element("css selector", "article details table").is_displayed()
    browser.save_screenshot(str(SCREENSHOTS / "simulator-fidelity.png"))
