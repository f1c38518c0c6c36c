"""Sphinx configuration of the pytext-psych documentation site.

Why Sphinx (and not MkDocs-Material): its examples gallery (sphinx-gallery) runs every
tutorial at build time and puts the printed tables and the figures into the page, as
scikit-learn's and pingouin's sites do; autodoc + napoleon read the package's numpy-style
docstrings as they are; MyST reads the Markdown pages (the guide, decisions, the bad-input
matrix) unchanged. The theme is PyData's. Build it with ``sh docs/build.sh`` (also the R
site, into ``_build/html/r``); ``tests/test_site.py`` builds it with warnings as errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package from this checkout
sys.path.insert(0, str(HERE / "sphinxext"))  # the gallery's image scraper

from pytext_psych.core.version import VERSION  # noqa: E402

project = "pytext-psych"
author = "the pytext-psych developers"
copyright = "2026, " + author  # noqa: A001 (Sphinx's name)
release = version = VERSION

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tutorials", "auto_tutorials/*.ipynb", "auto_tutorials/*.py",
                    "auto_tutorials/*.zip", "**/*.codeobj.json"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the pages moved from the README start at level 2 in places

templates_path = ["_templates"]
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

html_theme = "pydata_sphinx_theme"
html_title = "pytext-psych"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],  # not on the API pages (_templates/autosummary): room for long names
    "show_prev_next": True,
    "footer_start": ["copyright"],
}
html_static_path: list[str] = []


sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/\d\d_",  # every numbered tutorial runs at build time
    "image_scrapers": ("png_files.scraper",),  # docs/sphinxext/png_files.py
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "min_reported_time": 1,
}

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the pages
