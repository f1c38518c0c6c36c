"""sphinx-gallery image scraper for the figures a tutorial saves.

The package draws with matplotlib's object-oriented API and saves to a path (no pyplot
state), so the gallery's matplotlib scraper sees nothing. After each code block, the new
``*.png`` files in the tutorial's working folder (its own folder) are moved into the
gallery and shown under the block. A module of its own, named in ``conf.py`` as
``"png_files.scraper"``, because Sphinx pickles its configuration.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def scraper(block, block_vars, gallery_conf) -> str:
    from sphinx_gallery.scrapers import figure_rst

    folder = Path(block_vars["src_file"]).parent
    paths = []
    for png, target in zip(sorted(folder.glob("*.png")), block_vars["image_path_iterator"]):
        shutil.move(str(png), target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
