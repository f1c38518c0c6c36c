"""Fine-tuning on 2 CPU processes (DDP, gloo) under torchrun: the fit learns, the bundle
has the single-process format, and the strategies that change which parameters train
(freeze, gradual unfreezing, LoRA) work under DDP."""

import json
import subprocess
import sys
import textwrap

from pytext_psych import load_model, predict_scores
from pytext_psych.scoring.bundle import BUNDLE_JSON

SCRIPT = textwrap.dedent("""
    import json, sys
    from pytext_psych import example_data, fit_text_model

    for strategy in sys.argv[1].split(","):
        options = dict(freeze_layers=3) if strategy == "freeze" else {}
        fit = fit_text_model(example_data(), "answer", "topic", output_dir=f"{sys.argv[2]}/{strategy}",
                             strategy=strategy, epochs=int(sys.argv[3]), max_length=32,
                             learning_rate=1e-3 if strategy == "lora" else 1e-4,
                             progress=False, n_resamples=200, **options,
                             baseline=strategy == "full")  # "full" is compared with topic_fit
        f1 = fit.metrics.set_index("metric").loc["f1_macro", "estimate"]
        print("RESULT", json.dumps({"strategy": strategy, "f1": f1, "bundle": str(fit.bundle_path),
                                    "epochs": len(fit.history)}), flush=True)
""")


def _torchrun(tmp_path, strategy: str, epochs: int) -> list[dict]:
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", str(script), strategy, str(tmp_path),
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


def test_strategies_that_freeze_train_under_ddp(tmp_path):
    """One launch, three fits (the process group and imports are paid once)."""
    results = _torchrun(tmp_path, "freeze,gradual,lora", 2)
    assert len(results) == 6  # each fit returned on both processes ...
    for strategy in ("freeze", "gradual", "lora"):
        pair = [r for r in results if r["strategy"] == strategy]
        assert len(pair) == 2 and pair[0] == pair[1]  # ... with the same numbers
        assert pair[0]["f1"] > 0.3
