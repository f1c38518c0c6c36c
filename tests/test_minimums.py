"""The declared minimum versions really work: a throwaway environment with the oldest
versions setup.cfg allows fits, exports and scores.

torch stays at 2.13.0, the CPU build on this machine's disk: an older CPU build cannot be
installed from the package index without downloading a multi-GB CUDA build, so the
torch minimum (2.5, for ``torch.onnx.export(kwargs=, dynamo=)``) is argued in docs/dependencies.md
rather than tested. Everything else is pinned to its minimum (transformers 4.54 brings
tokenizers 0.21). Found by this test: onnxruntime 1.17's quantiser cannot quantise our
graph, and 1.19 needs onnx 1.16 (so the minimums are onnxruntime 1.18 with onnx 1.15);
numpy 1.24.2, scipy 1.11.1 (1.11.0 is yanked) and safetensors 0.4.3 are what the others
require.
"""

import configparser
import re
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# torch: see the module docstring; tokenizers: the light install allows 0.15, but
# transformers 4.54 (the [train] minimum) needs 0.21
OVERRIDES = {"torch": "torch==2.13.0", "tokenizers": "tokenizers==0.21.0"}


def minimum_pins() -> list[str]:
    """``name==minimum`` for every requirement of the core and [train] (and pytest)."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = (cfg["options"]["install_requires"] + cfg["options.extras_require"]["train"]).splitlines()
    pins = []
    for line in filter(None, (line.strip() for line in lines)):
        name, low = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", line).groups()
        pins.append(OVERRIDES.get(name, f"{name}=={low}"))
    return pins


FIT = """
import warnings
from pytext_psych import example_data, fit_text_model, predict_scores
warnings.simplefilter("ignore")
# strategy="full": "auto" would train these 100 texts on contrastive pairs, several times
# slower; the warm start still runs scikit-learn at its minimum
fit = fit_text_model(example_data().head(160), "answer", "topic", epochs=2, max_length=32,
                     learning_rate=1e-4, progress=False, n_resamples=100, output_dir="bundle",
                     strategy="full")
assert fit.metrics.set_index("metric").loc["accuracy", "estimate"] > 0.3, fit.metrics
print(predict_scores("bundle", ["the rent went up again"]).predicted.iloc[0])
"""


def test_oldest_allowed_versions_fit_export_and_score(tmp_path):
    env = tmp_path / "oldest"
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", *minimum_pins()], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(ROOT)], check=True)
    res = subprocess.run([python, "-c", FIT], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] in {"money", "work", "family", "health", "social"}
