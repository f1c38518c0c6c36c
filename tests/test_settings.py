"""Settings: validated once, and the one list of names and defaults every front end uses.

The fronts test walks every public setting, at a non-default value, through
``fit_text_model``, ``tune_text_model``, ``learning_curve`` and the command line, and
checks that each builds the very same ``TrainSettings`` / ``EvalSettings`` (stopping
before any training). The R package's argument lists are checked against the same
objects in test_rbridge.py.
"""

import numpy as np
import pytest

from pytext_psych import (
    EvalSettings,
    TrainSettings,
    example_data,
    fit_text_model,
    learning_curve,
    request,
    tune_text_model,
)
from pytext_psych.cli import main as cli
from pytext_psych.core.settings import CONTRASTIVE_BELOW, defaults
from pytext_psych.curve import CURVE_EVAL
from pytext_psych.training.encoders import resolve_model

VALUES = {"model": resolve_model("default"), "epochs": 2, "learning_rate": 3e-5, "batch_size": 8,
          "max_length": 64, "truncate": True, "stride": 20, "patience": 2, "strategy": "freeze", "freeze_layers": 2, "lora_r": 4,
          "lora_alpha": 8.0, "pooling": "cls", "linear_probe": False, "layer_decay": 0.9,
          "class_weights": True, "ordinal_head": "corn", "grad_accumulation": 2, "mixed_precision": "bf16",
          "seed": 7,
          "split": (0.5, 0.25, 0.25), "cv": 3, "group": "grp", "person": "grp", "baseline": False,
          "baseline_model": "mpnet-base", "n_resamples": 300, "ci_level": 0.9, "export": "fp32"}


def test_every_public_setting_is_walked_with_a_non_default_value():
    assert list(VALUES) == list(defaults())
    assert all(VALUES[k] != v for k, v in defaults().items())


class Stop(Exception):
    """Raised where training would start: the settings are then known."""


@pytest.fixture
def captured(monkeypatch):
    """The settings of the checked request every front makes before it trains."""
    seen, check = {}, request.check_request

    def stop(*args, **kwargs):
        job = check(*args, **kwargs)
        seen["train"], seen["eval"] = job.settings, job.evaluation
        raise Stop

    monkeypatch.setattr(request, "check_request", stop)
    return seen


def _expected(names):
    train = TrainSettings(**{k: v for k, v in VALUES.items() if k in names and hasattr(TrainSettings, k)})
    evaluation = EvalSettings(**{k: v for k, v in VALUES.items() if k in names and hasattr(EvalSettings, k)})
    return train, evaluation


def _cli_args(names):
    args = []
    for name in names:
        value, flag = VALUES[name], "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, *map(str, value if isinstance(value, tuple) else [value])]
    return args


def test_every_setting_reaches_the_same_objects_from_every_front(captured, tmp_path):
    data = example_data().assign(grp=lambda d: d.topic + "-" + (d.id % 4).astype(str))  # persons of one topic
    data.to_csv(tmp_path / "data.csv", index=False)
    everything = set(VALUES)
    no_cv = everything - {"cv"}  # tuning chooses on the dev split, so it refuses cv
    curve = {k for k in VALUES if hasattr(TrainSettings, k)} | CURVE_EVAL
    fronts = {
        "fit_text_model": (everything, lambda kw: fit_text_model(data, "answer", "topic", progress=False,
                                                                 output_dir=tmp_path / "f", **kw)),
        "tune_text_model": (no_cv, lambda kw: tune_text_model(
            data, "answer", "topic", progress=False, output_dir=tmp_path / "t",
            **dict(kw, learning_rate=[kw["learning_rate"]]))),
        "learning_curve": (curve, lambda kw: learning_curve(data, "answer", "topic", sizes=(50, 100),
                                                            progress=False, **kw)),
        "cli fit": (everything, lambda kw: cli(["fit", str(tmp_path / "data.csv"), "--text", "answer",
                                                "--outcome", "topic", "--quiet", "--out",
                                                str(tmp_path / "c"), *_cli_args(kw)])),
        "cli curve": (curve, lambda kw: cli(["curve", str(tmp_path / "data.csv"), "--text", "answer",
                                             "--outcome", "topic", "--quiet", "--sizes", "50", "100",
                                             *_cli_args(kw)])),
    }
    for front, (names, call) in fronts.items():
        captured.clear()
        with pytest.raises(Stop):
            call({k: VALUES[k] for k in VALUES if k in names})
        train, evaluation = _expected(names)
        assert captured["train"] == train, front
        assert captured["eval"] == evaluation, front


def test_settings_are_checked_once_with_every_problem_named():
    with pytest.raises(ValueError, match=r"epochs=0 \(a whole number of at least 1\); strategy='x'"):
        TrainSettings(epochs=0, strategy="x")
    with pytest.raises(ValueError, match=r"ci_level=1.5 .*export='int4'"):
        EvalSettings(ci_level=1.5, export="int4")
    with pytest.raises(TypeError, match="unexpected argument.*epoch; the settings are: .*epochs"):
        fit_text_model(example_data(), "answer", "topic", epoch=3)
    assert TrainSettings(strategy="lora").learning_rate == 5e-4
    assert np.isclose(sum(EvalSettings().split), 1)


def test_auto_strategy_is_made_concrete_by_size_and_task():
    auto = TrainSettings()
    assert auto.strategy == "auto"
    assert auto.for_data(CONTRASTIVE_BELOW - 1, "regression").strategy == "contrastive"
    assert auto.for_data(CONTRASTIVE_BELOW, "classification").strategy == "full"
    assert auto.for_data(10, "ordinal").strategy == "full"
    lora = TrainSettings(strategy="lora")
    assert lora.for_data(10, "regression") is lora  # a strategy the user chose is kept
    assert auto.for_data(10, "regression").learning_rate == auto.learning_rate


def test_a_model_folder_may_be_a_path():
    """pretrain_domain returns a Path; fit_text_model(model=folder) takes it as the folder."""
    from pathlib import Path

    assert TrainSettings(model=Path("some") / "folder").model == str(Path("some") / "folder")
    with pytest.raises(ValueError, match="model="):
        TrainSettings(model=3)
