#!/bin/sh
# Build the documentation site into docs/_build/html: the Python site (Sphinx; every
# tutorial runs) and, when R has pkgdown and the R package's Python side, the R site under
# r/. Warnings are errors. `sh docs/build.sh --open` opens it in a browser afterwards.
# Run from anywhere; uses .venv/bin/python when there is one.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${SITE_OUT:-docs/_build/html}  # SITE_OUT: another folder (the tests build into a temporary one)
SCRATCH=$(mktemp -d)  # the tutorials' output folders and the R library: removed when the build ends
trap 'rm -rf "$SCRATCH"' EXIT
export TMPDIR="$SCRATCH"
"$PYTHON" -m sphinx -W --keep-going -b html docs "$OUT"
if Rscript -e 'quit(status = !requireNamespace("pkgdown", quietly = TRUE))' 2>/dev/null; then
  sh rbridge/tools/ship-python
  RLIB=$(mktemp -d)  # the R package, installed where only this build sees it (under SCRATCH), and attached
  R CMD INSTALL --no-test-load -l "$RLIB" rbridge > "$RLIB/install.log" 2>&1 || { cat "$RLIB/install.log" >&2; exit 1; }
  OUT=$(realpath "$OUT") RLIB="$RLIB" R_LIBS="$RLIB${R_LIBS:+:$R_LIBS}" RETICULATE_PYTHON=${RETICULATE_PYTHON:-$(command -v "$PYTHON" | sed "s|^[^/]|$PWD/&|")} \
    Rscript -e 'library(pytextpsych, lib.loc = Sys.getenv("RLIB"))' \
            -e 'pkgdown::build_site("rbridge", examples = FALSE, new_process = FALSE, install = FALSE,
                                    override = list(destination = file.path(Sys.getenv("OUT"), "r")))'
else
  echo "R site skipped: R's pkgdown is not installed (Debian: apt-get install r-cran-pkgdown)" >&2
fi
echo "Built: $OUT/index.html"
if [ "${1:-}" = "--open" ]; then "$PYTHON" -m webbrowser "file://$(realpath "$OUT/index.html")"; fi
