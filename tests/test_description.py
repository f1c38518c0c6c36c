"""The typed bundle description: bundle.json read and written unchanged, frozen records,
one outcome a tuple of one, and bundles written before the records existed still load."""

import dataclasses
import json
import shutil

import pytest

from pytext_psych import load_model, predict_scores
from pytext_psych.core.description import Description, Outcome
from pytext_psych.scoring.bundle import _manifest_digest

ONE = {"format_version": 1, "task": "ordinal", "text": "answer", "outcome": "stress",
       "labels": ["1", "2", "3"], "level_values": [1.0, 2.0, 3.0], "target_mean": None, "target_sd": None,
       "ordinal_head": "clm", "ordinal_cuts": [-1.0, 1.0], "num_outputs": 1, "max_length": 32,
       "pad_token_id": 0, "base_model": "default", "metrics": [{"metric": "pearson_r", "estimate": 0.5}],
       "metrics_precision": "int8", "calibration": {"n": 2, "scores": [0.1, 0.2]},
       "onnx": {"files": {"int8": "model_int8.onnx"}, "fused": {"Attention": 6}}, "parity": {}, "files": {},
       "training": {"seed": 42, "history": [{"epoch": 1}]}, "evaluation": {}, "manifest": {}, "card": {},
       "data": {}, "encoder": {}, "n": {"train": 5}, "shift": {}, "a_newer_key": {"kept": True}}
SEVERAL = dict(ONE, task="regression", outcome=["stress", "calm"], labels=None, level_values=None,
               target_mean=[5.0, 4.0], target_sd=[2.0, 1.5], ordinal_head=None, ordinal_cuts=None, num_outputs=2,
               outcomes=[{"task": "regression", "outcome": name, "labels": None, "level_values": None,
                          "target_mean": mean, "target_sd": sd, "num_outputs": 1, "ordinal_head": None,
                          "calibration": None, "columns": [j, j + 1]}
                         for j, (name, mean, sd) in enumerate([("stress", 5.0, 2.0), ("calm", 4.0, 1.5)])])
del SEVERAL["calibration"]


@pytest.mark.parametrize("meta", [ONE, SEVERAL], ids=["one outcome", "several outcomes"])
def test_bundle_json_reads_and_writes_back_unchanged(meta):
    described = Description.from_json(json.loads(json.dumps(meta)))
    assert described.to_json() == meta
    assert described.unknown == {"a_newer_key": {"kept": True}}


def test_one_outcome_is_a_tuple_of_one():
    one, several = Description.from_json(ONE), Description.from_json(SEVERAL)
    assert [o.name for o in one.outcomes] == ["stress"] and not one.several
    assert one.outcomes[0].ordinal_cuts == (-1.0, 1.0) and one.labels == ["1", "2", "3"]
    assert one.outcomes[0].calibration["scores"] == [0.1, 0.2]
    assert several.outcome == ["stress", "calm"] and several.num_outputs == 2 and several.labels is None
    assert [(o.target_mean, o.columns) for o in several.outcomes] == [(5.0, (0, 1)), (4.0, (1, 2))]
    calm = several.view(several.outcomes[1])
    assert calm.outcome == "calm" and calm.outcomes[0].columns == (0, 1) and calm.task == "regression"


def test_a_description_cannot_be_changed_only_copied():
    described = Description.from_json(ONE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        described.max_length = 64
    with pytest.raises(TypeError):
        described.training["seed"] = 1
    with pytest.raises(TypeError):
        described.outcomes[0].calibration["n"] = 3
    changed = described.but(max_length=64)
    assert changed.max_length == 64 and described.max_length == 32
    with pytest.raises(ValueError, match="at least one outcome"):
        Description(text="answer", outcomes=(), max_length=32)
    assert Outcome("x", "classification", [0, 2], labels=["a", "b"]).labels == ("a", "b")


# keys bundles of earlier releases did not write yet (added over the package's history)
ADDED_LATER = ("encoder", "card", "shift", "ordinal_head", "ordinal_cuts", "level_values",
               "metrics_precision", "data", "pad_token_id")


def test_a_bundle_from_an_earlier_release_still_loads_and_scores(topic_fit, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(topic_fit.bundle_path, copy)
    meta = json.loads((copy / "bundle.json").read_text())
    for key in ADDED_LATER:
        meta.pop(key)
    meta["manifest_sha256"] = _manifest_digest(meta)
    (copy / "bundle.json").write_text(json.dumps(meta))
    old, new = load_model(copy), load_model(topic_fit.bundle_path)
    assert old.description.encoder == {} and old.description.outcomes[0].ordinal_cuts is None
    texts = ["my exams are next week", "my mother is ill"]
    assert predict_scores(old, texts).equals(predict_scores(new, texts).drop(columns="unusual"))
    assert "classification into" in repr(old)
