"""sphinx-gallery image scraper for the figures a tutorial saves.

The package draws with matplotlib's object-oriented API and saves to a path (no pyplot
state), so the gallery's matplotlib scraper sees nothing. After each code block, the new
``*.png`` files in the tutorial's working folder (its own folder), written since this build
started, are moved into the gallery and shown under the block; a PNG that was there before
is never touched. A module of its own, named in ``conf.py`` as
``"png_files.scraper"``, because Sphinx pickles its configuration.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

STARTED = time.time()  # figures written before the build are not the tutorials'


def scraper(block, block_vars, gallery_conf) -> str:
    from sphinx_gallery.scrapers import figure_rst

    folder = Path(block_vars["src_file"]).parent
    paths = []
    new = sorted(p for p in folder.glob("*.png") if p.stat().st_mtime >= STARTED)
    for png, target in zip(new, block_vars["image_path_iterator"]):
        shutil.move(str(png), target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
