"""The light install: scoring with numpy, pandas, onnxruntime and tokenizers, no torch.

Builds a fresh virtual environment with ``pip install <this package>`` (no extras) and
scores a bundle there. Slow-ish (pip), but it is the only honest check that the
install R users on laptops get really works without torch.
"""

import subprocess
import sys
import venv
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def test_light_install_scores_explains_and_checks_shift_without_torch(topic_fit, tmp_path):
    env = tmp_path / "light"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    code = (
        "import importlib.util, sys\n"
        "from pytext_psych import explain, load_model, model_card, predict_scores\n"
        f"model = load_model({str(topic_fit.bundle_path)!r})\n"
        "out = predict_scores(model, ['the rent went up again', 'my boss shouts at me'])\n"
        "assert out.unusual.dtype == bool  # the shift check\n"
        "assert len(explain(model, ['the rent went up again'])) == 5\n"
        "assert model_card(model.path).startswith('# Model card')\n"
        "print(out.to_csv(index=False))\n"
        "missing = [m for m in ('torch', 'transformers') if importlib.util.find_spec(m)]\n"
        "assert not missing, missing\n"
    )
    res = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    from io import StringIO

    got = pd.read_csv(StringIO(res.stdout))
    assert list(got.predicted) == ["money", "work"]
    site = next((env / "lib").glob("python*/site-packages"))
    full = Path(sys.prefix)
    print(f"\nlight install: {_size_mb(site):.0f} MB; full environment: {_size_mb(full):.0f} MB")
    assert _size_mb(site) < 600
