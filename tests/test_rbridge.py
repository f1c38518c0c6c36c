"""The R package in rbridge/: R CMD build and R CMD check against real R and this Python.

R CMD check runs the package's testthat tests, which fit and score through reticulate
with the Python that runs this test (RETICULATE_PYTHON); PYTEXTPSYCH_REQUIRE_PYTHON makes
them fail rather than skip if that Python lacks pytext-psych.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def torch_index(folder: Path) -> dict[str, str]:
    """A local package index holding the CPU build of PyTorch that runs this test, so
    that the R package's install test (install_python_deps) builds its environment
    offline: pip takes the wheel from this machine's own sources (here /opt/wheels)."""
    import torch

    wheels = folder / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels),
                    f"torch=={torch.__version__}"], check=True)
    wheel = next(wheels.glob("torch-*.whl"))
    (folder / "simple" / "torch").mkdir(parents=True)
    (folder / "simple" / "torch" / "index.html").write_text(
        f'<a href="{wheel.as_uri()}">{wheel.name}</a>')
    return {"PYTEXTPSYCH_TEST_TORCH_INDEX": (folder / "simple").as_uri(),
            "PYTEXTPSYCH_TEST_TORCH": f"torch=={torch.__version__}",
            "PYTEXTPSYCH_TEST_BASE_PYTHON": sys._base_executable}


@pytest.mark.skipif(shutil.which("R") is None, reason="R is not installed")
def test_r_cmd_check_as_cran(tmp_path):
    """The tarball as CRAN would check it: the vignette (run by R CMD build), examples
    (\\donttest included) and the testthat suite, install test included, with this Python."""
    # torch (2.13) makes its compiler cache folder in the temp directory on import of
    # torch._dynamo, which its optimisers do: keep that cache out of the check's detritus
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable, PYTEXTPSYCH_REQUIRE_PYTHON="1",
               _R_CHECK_CRAN_INCOMING_="false", _R_CHECK_FUTURE_FILE_TIMESTAMPS_="false",
               TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "torchinductor"),
               **torch_index(tmp_path / "index"))
    # a copy of rbridge/ with the Python package shipped into it: the checkout is left as
    # it was (docs/build.sh, perhaps running in another test worker, ships into that)
    rpkg = shutil.copytree(ROOT / "rbridge", tmp_path / "rbridge",
                           ignore=shutil.ignore_patterns("python"))  # inst/python: shipped below
    subprocess.run(["sh", str(ROOT / "rbridge" / "tools" / "ship-python"), str(rpkg)], check=True,
                   capture_output=True)
    subprocess.run(["R", "CMD", "build", str(rpkg)], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    tarball = next(tmp_path.glob("pytextpsych_*.tar.gz"))
    # R CMD build ran the vignette; the check does not run it a second time
    res = subprocess.run(["R", "CMD", "check", "--as-cran", "--no-manual", "--no-build-vignettes",
                          "--timings", tarball.name],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    log = res.stdout + res.stderr
    tests_out = tmp_path / "pytextpsych.Rcheck" / "tests" / "testthat.Rout"
    counts = re.findall(r"\[ FAIL \d+ \| WARN \d+ \| SKIP \d+ \| PASS \d+ \]",
                        tests_out.read_text() if tests_out.exists() else "")
    print("\n" + log.strip().splitlines()[-1], counts)
    notes = [line for line in log.splitlines() if line.endswith("NOTE")]
    print("NOTEs:", notes)
    timings = tmp_path / "pytextpsych.Rcheck" / "pytextpsych-Ex.timings"
    if timings.exists():  # the slowest examples, for whoever trims the suite's time
        print(pd.read_csv(timings, sep="\t", index_col=False)  # its lines end in a tab
              .nlargest(8, "elapsed").to_string(index=False))
    failures = r_test_failures(tests_out.with_name("testthat.Rout.fail"))
    assert res.returncode == 0, failures + log[-4000:]
    assert re.search(r"^Status: (OK|\d+ NOTEs?)$", log, re.M), log[-4000:]  # no ERROR, no WARNING
    assert not [note for note in notes if "detritus" in note], log[-4000:]  # nothing left in tempdir
    assert counts and counts[-1].startswith("[ FAIL 0 | WARN 0 | SKIP 0 |"), counts


def r_test_failures(rout: Path) -> str:
    """Every failure and error testthat reported, in full (R CMD check's log shows only
    the last 13 lines of its output)."""
    text = rout.read_text() if rout.exists() else ""
    blocks = re.findall(r"^(?:── )?(?:Failure|Error) \(.*?(?=^(?:──|══|\[ FAIL))", text, re.M | re.S)
    return "\n".join(blocks) + "\n"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
@pytest.mark.parametrize("name", ["fit_text_model", "predict_scores", "learning_curve",
                                  "tune_text_model", "pretrain_domain", "compare_models",
                                  "load_model", "explain", "explanation_html", "language_analysis",
                                  "model_card", "predict_scores_distributed", "fairness"])
def test_r_functions_mirror_python_names_and_defaults(name):
    import inspect
    import json

    import pytext_psych

    code = (f'e <- new.env(); for (f in Sys.glob("{ROOT / "rbridge" / "R"}/*.R")) sys.source(f, e); '
            f'f <- formals(e${name}); '
            'cat(paste0("{", paste(sprintf("\\"%s\\": %s", names(f), '
            'vapply(f, function(v) if (is.symbol(v) && !nzchar(as.character(v))) "null" else '
            'if (is.null(v)) "\\"NULL\\"" else if (is.call(v)) sprintf("[%s]", '
            'paste(vapply(as.list(v)[-1], format, ""), collapse = ", ")) else if '
            '(is.character(v)) sprintf("\\"%s\\"", v) else if (is.logical(v)) tolower(v) else '
            'format(v, digits = 15), "")), collapse = ", "), "}"))')
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    r_defaults = json.loads(res.stdout)
    py = {"..." if p.kind is p.VAR_KEYWORD else k: p.default  # **settings <-> R's ...
          for k, p in inspect.signature(getattr(pytext_psych, name)).parameters.items()}
    python_only = {"predict_scores": {"chunk_size", "progress"}}.get(name, set())  # file streaming
    r_only = {"learning_curve": {"target"}}.get(name, set())  # Python: curve.n_needed(target)
    assert set(py) - set(r_defaults) == python_only
    assert set(r_defaults) - set(py) == r_only
    shared = [k for k in py if k in r_defaults]
    assert list(r_defaults)[:len(shared)] == shared  # same names, same order
    for key in shared:
        want = py[key]
        got = r_defaults[key]
        if want is inspect.Parameter.empty:
            assert got is None, key
        elif want is None:
            assert got == "NULL", key
        elif isinstance(want, tuple):
            assert got == list(want), key
        else:
            assert got == want, key


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_python_ready_finds_torch_without_importing_it():
    """python_ready() (every help example's condition) must not import torch: torch imported
    before the bridge's RTLD_DEEPBIND import binds its matrix products to R's BLAS, which
    made fits from R about twice as slow (reticulate::py_module_available imports)."""
    code = (f'e <- new.env(); for (f in Sys.glob("{ROOT / "rbridge" / "R"}/*.R")) sys.source(f, e); '
            "stopifnot(e$python_ready()); "
            "modules <- reticulate::py_eval('__import__(\"sys\").modules', convert = TRUE); "
            'cat("torch imported:", "torch" %in% names(modules))')
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True,
                         env=dict(os.environ, RETICULATE_PYTHON=sys.executable))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("torch imported: FALSE"), res.stdout + res.stderr[-3000:]
