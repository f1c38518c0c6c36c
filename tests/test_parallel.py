"""Fine-tuning on 2 CPU processes (DDP, gloo) under torchrun: the fit learns, the bundle
has the single-process format, and the strategies that change which parameters train
(freeze, gradual unfreezing, LoRA) work under DDP."""

import json
import subprocess
import sys
import textwrap

import pytest

from pytext_psych import load_model, predict_scores
from pytext_psych.bundle import BUNDLE_JSON

SCRIPT = textwrap.dedent("""
    import json, sys
    from pytext_psych import example_data, fit_text_model

    strategy, out = sys.argv[1], sys.argv[2]
    options = dict(freeze_layers=3) if strategy == "freeze" else {}
    fit = fit_text_model(example_data(), "answer", "topic", output_dir=out, strategy=strategy,
                         epochs=int(sys.argv[3]), max_length=32,
                         learning_rate=1e-3 if strategy == "lora" else 1e-4,
                         progress=False, n_resamples=200, **options)
    f1 = fit.metrics.set_index("metric").loc["f1_macro", "estimate"]
    print("RESULT", json.dumps({"f1": f1, "bundle": str(fit.bundle_path),
                                "epochs": len(fit.history)}), flush=True)
""")


def _torchrun(tmp_path, strategy: str, epochs: int) -> list[dict]:
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", str(script), strategy, str(tmp_path / strategy),
                          str(epochs)], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return [json.loads(line[7:]) for line in res.stdout.splitlines() if line.startswith("RESULT ")]


def test_two_process_fit_learns_and_writes_the_usual_bundle(tmp_path, topic_fit):
    results = _torchrun(tmp_path, "full", 3)
    assert len(results) == 2  # both processes return the fit
    assert results[0] == results[1]  # the same numbers: the others read the main one's bundle
    assert results[0]["f1"] > 0.6  # 5 topics: chance is .2
    bundle = tmp_path / "full"
    ours, single = (json.loads((b / BUNDLE_JSON).read_text()) for b in (bundle, topic_fit.bundle_path))
    assert set(ours["files"]) == set(single["files"])
    assert set(ours) == set(single)
    model = load_model(bundle)
    assert list(predict_scores(model, ["my boss keeps adding deadlines"]).columns) == \
        list(predict_scores(topic_fit, ["my boss keeps adding deadlines"]).columns)
    assert not list(tmp_path.glob(".full.pytext-psych*"))  # no lock, work or checkpoint left


@pytest.mark.parametrize("strategy", ["freeze", "gradual", "lora"])
def test_strategies_that_freeze_train_under_ddp(tmp_path, strategy):
    results = _torchrun(tmp_path, strategy, 2)
    assert len(results) == 2 and results[0] == results[1]
    assert results[0]["f1"] > 0.3
