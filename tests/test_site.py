"""The published site: it builds in strict mode, and a real browser sees every page of it.

The browser check opens each page of the built site (from its sitemap) in headless Chromium
(Debian's `chromium` and `chromium-driver`, installed by `make test` where it may), at a phone's
width and a desktop's, in one browser session (tests/site_sweep.py). It fails on an empty figure
output, a Mermaid error, a page or main column wider than the screen, and two pages with one
title. Screenshots go to `build/screenshots/<width>/`, with the checks made on each page in
`build/screenshots/checks.txt`; each run writes its own folder and `build/screenshots` shows the
last run's when it ends. Without Chromium the check fails: a browser test that skips proves
nothing.
"""

from __future__ import annotations

import functools
import http.server
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import site_sweep
from site_sweep import (
    WIDTHS,
    PageVisit,
    check_mermaid,
    duplicate_titles,
    new_screenshot_folder,
    publish_screenshots,
    report,
    screenshot_name,
    set_width,
    site_pages,
    visit,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# One worker should build the site once and drive one browser for every test in this file; with
# pytest 9.2 and xdist 3.8 the group is ignored (pytest-dev/pytest-xdist#1386), hence one sweep test.
pytestmark = pytest.mark.xdist_group("site")

PUBLISHED_SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
# `mkdocs build` under 30 s, counted in CPU seconds (mkdocs and what it starts): wall time on a
# machine busy with other tests measures the neighbours as much as the build.
SITE_BUILD_BUDGET_SECONDS = 30

LESSON_URL = "notebooks/00-lambda-realities/01-sqs-batch-size/"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    print(f"site built in {time.perf_counter() - started:.1f} s ({cpu:.1f} s of CPU)")
    assert cpu < SITE_BUILD_BUDGET_SECONDS, f"site build took {cpu:.1f} s of CPU"
    return site_dir


def test_site_builds_with_every_page(built_site: Path) -> None:
    lessons = sorted(p.relative_to(PROJECT_ROOT) for p in PROJECT_ROOT.glob("notebooks/*/*.ipynb"))
    assert len(lessons) >= 11
    for page in ["index.html", "00-lambda-realities/index.html", "01-event-pipeline/index.html",
                 "02-scaling/index.html", "03-error-handling/index.html", "labs/index.html", "instructors/index.html",
                 "glossary/index.html"] + [f"{p.with_suffix('')}/index.html" for p in lessons]:
        assert (built_site / page).is_file(), f"{page} missing from the built site"
    lesson = (built_site / LESSON_URL / "index.html").read_text()
    assert "jp-OutputArea" in lesson, "the lesson page has no notebook output"


def test_lessons_have_a_download_link(built_site: Path) -> None:
    lessons = 0
    for page in sorted(built_site.rglob("index.html")):
        notebook = page.parent / f"{page.parent.name}.ipynb"  # mkdocs-jupyter's copy (include_source)
        if notebook.is_file():
            lessons += 1
            assert f'href="/{notebook.relative_to(built_site).as_posix()}" download' in page.read_text(), (
                f"{page.relative_to(built_site)} has no link to download its notebook")
    assert lessons >= 11


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
                 "--disable-sync", "--no-first-run", "--window-size=1400,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots() -> Iterator[Path]:
    """This run's screenshot folder; build/screenshots shows it once the run's tests are done,
    passed or failed (a failing page's full-page screenshot is the proof most wanted)."""
    folder = new_screenshot_folder(PUBLISHED_SCREENSHOTS.parent)
    yield folder
    publish_screenshots(folder, PUBLISHED_SCREENSHOTS)


@pytest.fixture(scope="module")
def sweep(browser, site_url: str, built_site: Path, screenshots: Path) -> list[PageVisit]:
    """Every page of the site at each width, in the one browser session; the checks per page are
    written beside the screenshots (build/screenshots/checks.txt)."""
    started = time.perf_counter()
    pages = site_pages(built_site)
    visits = []
    for width in WIDTHS:
        set_width(browser, width)
        visits += [visit(browser, site_url, built_site, path, width, screenshots) for path in pages]
    summary = f"{len(pages)} pages x {len(WIDTHS)} widths checked in {time.perf_counter() - started:.1f} s"
    (screenshots / "checks.txt").write_text(summary + "\n" + report(visits) + "\n")
    print(summary)
    return visits


def test_every_page_at_both_widths(sweep: list[PageVisit], built_site: Path, screenshots: Path) -> None:
    """Every page at each width: no empty figure, no Mermaid error, no horizontal overflow, no
    shared title; and the pages that must show something do. One test, so that the sweep runs
    once even where xdist does not keep this file's tests on one worker."""
    pages = site_pages(built_site)
    assert len(pages) >= 21, f"the sitemap lists only {pages}"
    assert {(page.path, page.width) for page in sweep} == {(path, width) for path in pages for width in WIDTHS}
    failures = [f"no screenshot of /{page.path} at {page.width} px" for page in sweep
                if not (screenshots / str(page.width) / screenshot_name(page.path)).is_file()]
    broken = [page for page in sweep if page.problems]
    if broken:
        failures.append("pages a reader would see broken:\n" + report(broken))
    duplicated = duplicate_titles(sweep)
    if duplicated:
        failures.append(f"pages share a title (browser tabs, search results, footer): {duplicated}")
    failures += shows_what_it_must(sweep)
    assert not failures, "\n".join(failures)


def shows_what_it_must(sweep: list[PageVisit]) -> list[str]:
    def visited(path: str, width: int) -> PageVisit:
        return next(page for page in sweep if page.path == path and page.width == width)

    failures = [f"the home page does not show '{heading}'" for heading in ["What you will learn", "Run it locally", "Start here"]
                if heading not in visited("", 1400).article_text]
    for path, text in [("00-lambda-realities/", "ReportBatchItemFailures"), ("01-event-pipeline/", "PutEvents"),
                       ("02-scaling/", "Little's law"),
                       ("03-error-handling/", "StartMessageMoveTask"), ("simulator/", "Fidelity table")]:
        for width in WIDTHS:
            page = visited(path, width)
            if text not in page.article_text:
                failures.append(f"/{path} does not say {text} at {width} px")
            if not any("Mermaid diagrams rendered" in check for check in page.checks):
                failures.append(f"/{path} shows no diagram at {width} px")
    lessons = [page for page in sweep if page.path.startswith("notebooks/")]
    failures += [f"/{page.path} shows no output at {page.width} px" for page in lessons
                 if not any(check.endswith("cell outputs shown") for check in page.checks)]
    with_figures = {page.path for page in lessons if any(check.endswith("figures show their image") for check in page.checks)}
    if len(with_figures) < 8:
        failures.append(f"only {sorted(with_figures)} show figures")
    return failures


def test_module_guide_shows_code(built_site: Path) -> None:
    assert 'class="highlight"' in (built_site / "00-lambda-realities" / "index.html").read_text(), "no code shown"


def open_page(browser, url: str, ready_selector: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 20).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ready_selector))
    )


def test_a_lesson_figure_opens_full_size_on_click(browser, site_url: str, screenshots: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    set_width(browser, 1400)
    open_page(browser, site_url + LESSON_URL, ".jp-OutputArea-output img")
    figure = browser.find_element("css selector", ".jp-OutputArea-output a.glightbox img")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    figure.click()
    WebDriverWait(browser, 10).until(
        lambda b: any(img.is_displayed() for img in b.find_elements("css selector", ".glightbox-container .gslide-image img")))
    browser.save_screenshot(str(screenshots / "lesson-00-01-zoomed.png"))


def test_fidelity_page_opens_as_a_short_list_of_areas(browser, site_url: str) -> None:
    set_width(browser, 1400)
    open_page(browser, site_url + "simulator-fidelity/", "article details")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    assert height < 5000, f"the fidelity page is {height} px tall with every area collapsed"
    browser.find_element("css selector", "article details summary").click()
    assert browser.find_element("css selector", "article details table").is_displayed()


def test_course_map_links_the_modules_that_exist_and_marks_the_others_planned(built_site: Path) -> None:
    guides = {int(page.parent.name[:2]): page.parent.name for page in built_site.glob("[0-9][0-9]-*/index.html")}
    home = (built_site / "index.html").read_text()
    course_map = home[home.index('<div class="grid course-map">'):]
    cards = re.findall(r'<div class="card( planned)?">\s*<p class="course-map__title"><strong>(.*?)</strong>', course_map)
    assert len(cards) == 9, f"the course map shows {len(cards)} modules, not 0 to 8"
    for planned, title in cards:
        module = int(title.split("·")[0].split(">")[-1])
        if module in guides:
            assert not planned and f'href="{guides[module]}/"' in title, f"module {module}'s card does not link its guide"
        else:
            assert planned and "href" not in title, f"module {module} has no guide but its card is not marked planned"


def test_screenshots_are_published_whole_and_replace_the_last_run(tmp_path: Path) -> None:
    published = tmp_path / "screenshots"
    published.mkdir()
    (published / "stale.png").write_bytes(b"from a run before runs had their own folder")
    first = new_screenshot_folder(tmp_path)
    (first / "390").mkdir()
    (first / "390" / "index.png").write_bytes(b"first")
    second = new_screenshot_folder(tmp_path)
    (second / "checks.txt").write_text("second")
    publish_screenshots(first, published)
    assert published.is_symlink() and (published / "390" / "index.png").read_bytes() == b"first"
    publish_screenshots(second, published)
    assert sorted(p.name for p in published.iterdir()) == ["checks.txt"]
    assert not first.exists(), "the replaced run's folder is left behind"
    assert second.is_dir()


# A page whose diagram appears only after the load event, as Material's script renders it later
# under load; and a page whose diagram never renders.
LATE_DIAGRAM = """data:text/html,<body><script>setTimeout(() => {
  const host = document.createElement('div'); host.className = 'mermaid';
  host.attachShadow({mode: 'open'}).innerHTML = '<svg viewBox="0 0 100 50" width="100"><text>A</text></svg>';
  document.body.append(host);
}, 700)</script></body>"""
NEVER_RENDERED = "data:text/html,<body><pre class='mermaid'>graph TD; A-->B</pre></body>"


def test_the_mermaid_check_waits_for_a_diagram_rendered_after_the_load(browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_sweep, "MERMAID_RENDER_TIMEOUT_SECONDS", 5)
    browser.get(LATE_DIAGRAM)
    page = PageVisit("late", 1400)
    check_mermaid(browser, page, diagrams_built=1)
    assert page.problems == [] and page.checks == ["1 Mermaid diagrams rendered, at 100% of their size or more"]


def test_the_mermaid_check_fails_a_diagram_that_never_renders(browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_sweep, "MERMAID_RENDER_TIMEOUT_SECONDS", 1)
    browser.get(NEVER_RENDERED)
    page = PageVisit("never", 1400)
    check_mermaid(browser, page, diagrams_built=1)
    assert page.problems[0].startswith("1 of the page's 1 Mermaid diagrams not rendered after 1 s"), page.problems
