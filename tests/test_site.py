"""The documentation site, built as a user builds it (``sh docs/build.sh``, warnings as
errors, every tutorial executed, the R site with pkgdown) into a temporary folder; then
every internal link and anchor is resolved, and four pages are opened in headless Chromium
(Debian's ``chromium``): their screenshots are saved under the build's ``_screenshots``
folder for a person to look at, and must show something other than a blank page."""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))
PAGES = {  # page -> what its rendered text must hold
    "index.html": "Getting started",
    "auto_tutorials/01_first_fit.html": "Your first fit",
    "generated/pytext_psych.fit_text_model.html": "fit_text_model",
    "r/reference/index.html": "fit_text_model",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "html"
    python = str(Path(os.sys.executable))
    done = subprocess.run(["sh", str(ROOT / "docs" / "build.sh")], capture_output=True, text=True,
                          env=dict(os.environ, SITE_OUT=str(out), PYTHON=python, RETICULATE_PYTHON=python))
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-6000:])
    assert "R site skipped" not in done.stderr
    return out


class Links(HTMLParser):
    """The ``href`` / ``src`` of a page's links, images and scripts, and its element ids."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("name") and tag == "a":
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "link", "script"):
                self.links.append(attrs[key])


def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(errors="replace"))
    return links


def test_every_tutorial_ran_and_shows_its_output(site):
    assert len(TUTORIALS) >= 9
    for name in TUTORIALS:
        page = (site / "auto_tutorials" / f"{name}.html").read_text()
        assert "sphx-glr-script-out" in page or "rendered_html" in page, name  # printed text, or tables
    for name in ("01_first_fit", "02_how_many_texts", "04_outcomes_covariates_fairness", "05_explain_and_shift"):
        images = [src for src in parsed(site / "auto_tutorials" / f"{name}.html").links
                  if src.endswith(".png") and "sphx_glr" in src]
        assert images, f"{name} shows no figure"


def test_every_internal_link_and_anchor_resolves(site):
    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]  # not the theme's template files
    assert len(pages) > 60
    ids = {}
    broken = []
    for page in pages:
        for link in parsed(page).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:")) or not (parts.path or parts.fragment):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif parts.fragment and target.suffix == ".html":
                ids.setdefault(target, parsed(target).ids)
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


@pytest.mark.parametrize("page", list(PAGES))
def test_pages_render_in_a_real_browser(site, page):
    from matplotlib.image import imread

    chromium = shutil.which("chromium")
    assert chromium, "Chromium is needed (Debian: apt-get install chromium)"
    shots = site / "_screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / (re.sub(r"[^A-Za-z0-9]+", "_", page) + ".png")
    url = (site / page).resolve().as_uri()
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--window-size=1280,1600", "--virtual-time-budget=5000"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert PAGES[page] in dom.stdout
    done = subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (1600, 1280) and np.std(pixels[..., :3]) > 0.05  # not a blank page
