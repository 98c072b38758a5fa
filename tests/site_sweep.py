"""Open every page of the built site in one Chromium session at each reader's width, screenshot
it, and record what a reader would see go wrong.

A page is checked for: its title (collected here, compared across pages by the test), every
Mermaid diagram of its built HTML rendered to an SVG without Mermaid's error diagram, every
lesson figure output holding an image that loaded (not matplotlib's bare ``<Figure size ...>``
text, which is what a figure that was never drawn leaves behind), and no horizontal overflow of
the page or its main column. Code blocks and tables scroll inside their own boxes, so they do
not overflow the column and need no exception; an element that pokes out of the column is named
with its position.

Each run writes its screenshots into a folder of its own (`new_screenshot_folder`) and, at the
end, `publish_screenshots` points `build/screenshots` at it in one atomic rename: two runs at the
same time never mix their screenshots, and the build folder keeps the last run's whole set.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

# A phone (iPhone 12-15 class) and a desktop wide enough for both of Material's sidebars.
WIDTHS = (390, 1400)
HEIGHT = {390: 844, 1400: 900}
MERMAID_RENDER_TIMEOUT_SECONDS = 10
# Mermaid draws text 16 px high; below half its size (8 px) a diagram cannot be read.
MIN_DIAGRAM_SCALE = 0.5
# A full-page screenshot costs 0.3-1.2 s (a relayout and a PNG up to 6,000 px tall), five times
# the first screen's: pages that pass get their first screen, pages with a problem the full page.
SCREENSHOT_MAX_HEIGHT = 6000


@dataclass
class PageVisit:
    path: str
    width: int
    title: str = ""
    article_text: str = ""
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def site_pages(site_dir: Path) -> list[str]:
    """The pages of the built site, as paths relative to its root: every page in the sitemap
    (so a new module's pages are covered as soon as they are in the navigation) and the 404 page,
    which the sitemap leaves out."""
    namespace = {"sitemap": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.parse(site_dir / "sitemap.xml").getroot()
    paths = [urlparse(loc.text.strip()).path.lstrip("/") for loc in root.findall("sitemap:url/sitemap:loc", namespace)]
    return paths + ["404.html"]


def built_page(site_dir: Path, path: str) -> Path:
    """The built HTML file that the site serves at `path`."""
    return site_dir / path / "index.html" if path == "" or path.endswith("/") else site_dir / path


def mermaid_blocks(html: str) -> int:
    """The Mermaid diagrams in a page's HTML as built: pymdownx.superfences writes each as a
    `pre.mermaid` block, which Material's script renders after the page has loaded."""
    return len(re.findall(r'<pre class="mermaid"', html))


def new_screenshot_folder(build: Path) -> Path:
    """An empty folder in `build` for this run's screenshots only."""
    build.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".screenshots-", dir=build))


def publish_screenshots(folder: Path, published: Path) -> None:
    """Make `published` (a symbolic link beside `folder`) show `folder`, replacing the link in one
    rename, and delete the folder it showed before. A lock orders runs that finish together, so
    that each deletes only a folder that no link shows any more."""
    with open(published.parent / ".screenshots.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = published.resolve() if published.is_symlink() else None
        if published.is_dir() and not published.is_symlink():
            shutil.rmtree(published)  # the shared folder that runs wrote into before they had their own
        link = published.with_name(f"{folder.name}.link")
        link.unlink(missing_ok=True)
        link.symlink_to(folder.name)
        os.replace(link, published)
        if previous is not None and previous != folder.resolve():
            shutil.rmtree(previous, ignore_errors=True)


def screenshot_name(path: str) -> str:
    return (path.strip("/").replace("/", "--").removesuffix(".html") or "index") + ".png"


def set_width(browser, width: int) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": HEIGHT[width], "deviceScaleFactor": 1, "mobile": width < 600})


def visit(browser, site_url: str, site_dir: Path, path: str, width: int, screenshots: Path) -> PageVisit:
    page = PageVisit(path, width)
    browser.get(site_url + path)
    page.title = browser.title
    page.article_text = browser.execute_script(
        "const a = document.querySelector('article'); return a ? a.innerText : ''")
    check_mermaid(browser, page, mermaid_blocks(built_page(site_dir, path).read_text(encoding="utf-8")))
    check_figures(browser, page)
    check_overflow(browser, page)
    full_page = bool(page.problems)
    save_screenshot(browser, screenshots / str(width) / screenshot_name(path), full_page)
    page.checks.append("screenshot of the " + ("full page" if full_page else "first screen"))
    return page


def check_mermaid(browser, page: PageVisit, diagrams_built: int) -> None:
    """Material replaces each `pre.mermaid` with a `div.mermaid` holding the SVG in a closed
    shadow root; a diagram Mermaid cannot parse keeps its `pre` (the render throws). Rendering
    ends after the page's load event, later under load: the check waits, up to
    MERMAID_RENDER_TIMEOUT_SECONDS, for all `diagrams_built` of the page's diagrams."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    if not diagrams_built:
        return
    counts = "return [document.querySelectorAll('div.mermaid').length, document.querySelectorAll('pre.mermaid').length]"
    try:
        WebDriverWait(browser, MERMAID_RENDER_TIMEOUT_SECONDS, poll_frequency=0.05).until(
            lambda driver: driver.execute_script(counts) == [diagrams_built, 0])
        unrendered = 0
    except TimeoutException:
        rendered, _ = browser.execute_script(counts)
        unrendered = diagrams_built - rendered
        page.problems.append(
            f"{unrendered} of the page's {diagrams_built} Mermaid diagrams not rendered after "
            f"{MERMAID_RENDER_TIMEOUT_SECONDS} s (a Mermaid syntax error, or mermaid.min.js not loaded?)")
    diagrams = rendered_diagrams(browser)
    broken = [text for text, _ in diagrams if text is None or "Syntax error" in text]
    if broken:
        page.problems.append(f"{len(broken)} Mermaid diagrams show an error or no SVG")
    scales = [scale for _, scale in diagrams if scale is not None]
    smallest = min(scales, default=1.0)
    if smallest < MIN_DIAGRAM_SCALE:
        page.problems.append(f"a Mermaid diagram is drawn at {smallest:.0%} of its size: its text is unreadable")
    if not unrendered and not broken and smallest >= MIN_DIAGRAM_SCALE:
        page.checks.append(f"{diagrams_built} Mermaid diagrams rendered, at {smallest:.0%} of their size or more")


def rendered_diagrams(browser) -> list[tuple[str | None, float | None]]:
    """The text of each rendered diagram's SVG (None where there is no SVG) and the scale it is
    drawn at (its width on screen over its viewBox's). Page scripts cannot read a closed shadow
    root; the DevTools protocol can pierce it."""
    root = browser.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    hosts = browser.execute_cdp_cmd("DOM.querySelectorAll", {"nodeId": root, "selector": "div.mermaid"})["nodeIds"]
    diagrams = []
    for host in hosts:
        tree = browser.execute_cdp_cmd("DOM.describeNode", {"nodeId": host, "depth": -1, "pierce": True})["node"]
        svg = find_node(tree, "svg")
        if svg is None:
            diagrams.append((None, None))
            continue
        attributes = dict(zip(svg.get("attributes", [])[::2], svg.get("attributes", [])[1::2]))
        box = browser.execute_cdp_cmd("DOM.getBoxModel", {"backendNodeId": svg["backendNodeId"]})["model"]
        view_width = float(attributes["viewBox"].split()[2]) if "viewBox" in attributes else 0
        diagrams.append((" ".join(node_texts(svg)), box["width"] / view_width if view_width else None))
    return diagrams


def find_node(node: dict, name: str) -> dict | None:
    if node.get("nodeName", "").lower() == name:
        return node
    for child in node.get("children", []) + node.get("shadowRoots", []):
        found = find_node(child, name)
        if found is not None:
            return found
    return None


def node_texts(node: dict) -> list[str]:
    texts = [node["nodeValue"]] if node.get("nodeType") == 3 else []
    for child in node.get("children", []) + node.get("shadowRoots", []):
        texts += node_texts(child)
    return texts


_FIGURE_OUTPUTS = """
const images = [...document.querySelectorAll('.jp-RenderedImage')];
const empty = images.filter(area => {
  const img = area.querySelector('img');
  return !img || !img.complete || img.naturalWidth === 0;
}).length;
const undrawn = [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter(area => /^<Figure size \\d+(\\.\\d+)?x\\d+(\\.\\d+)? with \\d+ Axes>$/.test(area.innerText.trim())).length;
const outputs = document.querySelectorAll('.jp-OutputArea-output').length;
return [outputs, images.length, empty, undrawn];
"""


def check_figures(browser, page: PageVisit) -> None:
    outputs, images, empty, undrawn = browser.execute_script(_FIGURE_OUTPUTS)
    if outputs:
        page.checks.append(f"{outputs} cell outputs shown")
    if empty:
        page.problems.append(f"{empty} of {images} figure outputs hold no loaded image")
    if undrawn:
        page.problems.append(f"{undrawn} outputs show a figure's text repr instead of the figure (never drawn)")
    if images and not (empty or undrawn):
        page.checks.append(f"{images} figures show their image")


# Elements poking out to the right of the main column, outside any box that scrolls or clips them.
_OVERFLOW = """
const column = document.querySelector('.md-content');
if (!column) return [document.documentElement.scrollWidth, 0, 0, []];
const edge = column.getBoundingClientRect().right;
const clipped = element => {
  for (let e = element.parentElement; e && e !== column; e = e.parentElement) {
    if (getComputedStyle(e).overflowX !== 'visible') return true;
  }
  return false;
};
const offenders = [...column.querySelectorAll('*')]
  .filter(e => e.getBoundingClientRect().right > edge + 1 && !clipped(e))
  .filter((e, _, all) => !all.includes(e.parentElement))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}${[...e.classList].map(c => '.' + c).join('')} ends at ${Math.round(e.getBoundingClientRect().right)} px`);
return [document.documentElement.scrollWidth, column.scrollWidth, column.clientWidth, offenders];
"""


def check_overflow(browser, page: PageVisit) -> None:
    page_width, column_width, column_visible, offenders = browser.execute_script(_OVERFLOW)
    problems = []
    if page_width > page.width:
        problems.append(f"the page is {page_width} px wide in a {page.width} px viewport")
    if column_width > column_visible + 1:
        problems.append(f"the main column's content is {column_width} px wide in {column_visible} px")
    if offenders:
        problems.append("past the column's right edge: " + "; ".join(offenders))
    if problems:
        page.problems.append("horizontal overflow: " + ", ".join(problems))
    else:
        page.checks.append(f"no horizontal overflow at {page.width} px")


def save_screenshot(browser, target: Path, full_page: bool) -> None:
    options = {"format": "png"}
    if full_page:
        content = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        options |= {"captureBeyondViewport": True, "clip": {
            "x": 0, "y": 0, "width": content["width"], "height": min(content["height"], SCREENSHOT_MAX_HEIGHT), "scale": 1}}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", options)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot["data"]))


def report(visits: list[PageVisit]) -> str:
    lines = []
    for page in visits:
        verdict = "FAIL" if page.problems else "ok"
        lines.append(f"{verdict:4} {page.width:>4} px  /{page.path}  \"{page.title}\"")
        lines += [f"       - {check}" for check in page.checks]
        lines += [f"       ! {problem}" for problem in page.problems]
    return "\n".join(lines)


def duplicate_titles(visits: list[PageVisit]) -> dict[str, list[str]]:
    pages_by_title: dict[str, set[str]] = {}
    for page in visits:
        pages_by_title.setdefault(page.title, set()).add(page.path)
    return {title: sorted(paths) for title, paths in pages_by_title.items() if len(paths) > 1}

