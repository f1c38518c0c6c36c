"""Fine-tuning: learning happens, seeds reproduce, early stopping keeps the best epoch;
strategies train exactly the parameters they promise; domain pretraining; speed pieces."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics.pairwise import cosine_similarity
from transformers import AutoTokenizer

from pytext_psych import example_data, fit_text_model, pretrain_domain
from pytext_psych.core.settings import TrainSettings
from pytext_psych.data.design import split_rows
from pytext_psych.data.reading import prepare
from pytext_psych.stats import dev_scorer
from pytext_psych.training.encoders import resolve_model
from pytext_psych.training.epochs import Optimiser
from pytext_psych.training.train import class_weights, fine_tune, length_grouped, load_base


def test_classification_learns(topic_fit):
    history = topic_fit.history
    assert history.train_loss.iloc[-1] < 0.7 * history.train_loss.iloc[0]
    f1 = topic_fit.metrics.set_index("metric").loc["f1_macro", "estimate"]
    assert f1 > 0.9


def test_regression_learns(stress_fit):
    history = stress_fit.history
    assert history.train_loss.iloc[-1] < 0.8 * history.train_loss.iloc[0]
    r = stress_fit.metrics.set_index("metric").loc["pearson_r"]
    assert r.estimate > 0.5 and r.conf_low > 0.3


def test_best_dev_epoch_is_kept(topic_fit, stress_fit):
    for fit in (topic_fit, stress_fit):
        h = fit.history
        assert list(h.columns) == ["epoch", "train_loss", "dev_metric", "trainable", "seconds"]
        assert h.dev_metric[h.epoch == fit.best_epoch].item() == h.dev_metric.max()


@pytest.fixture(scope="module")
def tiny():
    df = pd.DataFrame({
        "text": ["the sun is warm", "cold rain again", "bright sunny day", "grey wet storm"] * 8,
        "mood": ["happy", "sad"] * 16,
    })
    return df


def _tiny_fit(df, tmp_path, name, **kw):
    return fit_text_model(df, text="text", outcome="mood", epochs=1, max_length=16,
                          output_dir=tmp_path / name, progress=False, n_resamples=50,
                          export="fp32", strategy="full", **kw)


def test_seed_reproduces_and_leaves_global_rng_alone(tiny, tmp_path):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = _tiny_fit(tiny, tmp_path, "a", seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = _tiny_fit(tiny, tmp_path, "b", seed=7)
    c = _tiny_fit(tiny, tmp_path, "c", seed=8)
    probs = [f.predictions.filter(like="prob_").to_numpy() for f in (a, b, c)]
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)
    assert np.abs(probs[0] - probs[2]).max() > 1e-4
    assert not (a.bundle_path / "model_int8.onnx").exists()  # export="fp32"


def test_patience_stops_early(tiny, tmp_path):
    fit = fit_text_model(tiny, text="text", outcome="mood", epochs=6, patience=1,
                         learning_rate=1e-7, max_length=16, output_dir=tmp_path / "m",
                         progress=False, n_resamples=50, strategy="full")
    assert len(fit.history) < 6


def test_settings_validation():
    TrainSettings(epochs=1, learning_rate=1e-5, batch_size=8, max_length=32, patience=1, seed=0)
    with pytest.raises(ValueError, match=r"batch_size=0 \(a whole number of at least 1\); max_length=2"):
        TrainSettings(epochs=1, learning_rate=1e-5, batch_size=0, max_length=2, patience=1, seed=0)


SCORE = dev_scorer("classification")


def _config(**kw):
    return TrainSettings(**{**dict(epochs=2, learning_rate=1e-4, batch_size=16, max_length=24,
                                 patience=5, seed=3), **kw})


def _topic_rows(n: int):
    """The first ``n`` example answers' topics, 75% train and 25% dev."""
    prep = prepare(example_data().iloc[:n], "answer", "topic")
    return prep, split_rows(prep.y, prep.task, (0.75, 0.25, 0.0), 0)


@pytest.fixture(scope="module")
def topics():
    return _topic_rows(160)


def _changed(topics, config, dev=True):
    """Names of the parameters that training changed: the trained model against the same
    seeded initialisation (pretrained encoder + head). ``dev=False``: no dev split, so the
    last epoch is kept rather than the best."""
    prep, split = topics
    split = split if dev else np.full(len(split), "train", dtype=object)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        _, before = load_base("default", prep.task, prep.labels)
    _, net, result = fine_tune(prep.texts, prep.y, split, prep.task, prep.labels, config,
                               SCORE, progress=False)
    after = dict(net.named_parameters())
    names = [n for n, _ in before.named_parameters()]
    assert set(names) == set(after)  # LoRA is merged away: the exported model is a plain one
    changed = {n for n, p in before.named_parameters() if not torch.equal(p, after[n])}
    return names, changed, result


def _part(name: str) -> str:
    """'embeddings', 'layer 0'..'layer 5' or 'head'."""
    if ".embeddings." in name:
        return "embeddings"
    if ".layer." in name:
        return f"layer {name.split('.layer.')[1].split('.')[0]}"
    return "head"


def test_full_strategy_trains_everything(topics):
    names, changed, _ = _changed(topics, _config(strategy="full"))
    assert changed == set(names)


def test_freeze_keeps_embeddings_and_lower_layers(topics):
    names, changed, result = _changed(topics, _config(strategy="freeze", freeze_layers=4))
    parts = {_part(n) for n in changed}
    assert parts == {"layer 4", "layer 5", "head"}
    assert {_part(n) for n in set(names) - changed} >= {"embeddings", "layer 0", "layer 3"}
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_freeze_all_trains_the_head_only(topics):
    _, changed, _ = _changed(topics, _config(strategy="freeze", freeze_layers="all", epochs=1))
    assert {_part(n) for n in changed} == {"head"}


def test_gradual_unfreezing_opens_one_layer_per_epoch(topics):
    names, changed, result = _changed(topics, _config(strategy="gradual", epochs=3), dev=False)
    assert {_part(n) for n in changed} == {"head", "layer 5", "layer 4"}
    trainable = [h["trainable"] for h in result.history]
    assert trainable[0] < trainable[1] < trainable[2]


def test_lora_changes_only_attention_projections_and_head(topics):
    names, changed, result = _changed(topics, _config(strategy="lora", learning_rate=5e-4))
    assert {n for n in changed if _part(n).startswith("layer")} == {
        n for n in names if n.endswith(("query.weight", "value.weight"))}
    assert {_part(n) for n in changed} == {f"layer {i}" for i in range(6)} | {"head"}
    assert result.history[0]["trainable"] < 300_000  # of 22.7 million
    assert result.history[-1]["dev_metric"] > 0.3


def _alike_cosines(net, tokenizer, prep, rows):
    """Each pair of ``rows``: the cosine of what the head's output layer reads, and how
    alike the two outcomes are (same topic, or closeness of the stress ratings)."""
    from transformers import DataCollatorWithPadding

    from pytext_psych.training.nets import TokenCache
    from pytext_psych.training.probe import head_inputs

    encoded = TokenCache().encode(tokenizer, [prep.texts[i] for i in rows], 24)
    features = head_inputs(net, encoded, DataCollatorWithPadding(tokenizer, return_tensors="pt"))
    upper = np.triu_indices(len(rows), 1)
    y = np.asarray(prep.y)[rows]
    alike = (y[:, None] == y) if prep.task == "classification" else -np.abs(y[:, None] - y)
    return cosine_similarity(features)[upper], alike[upper]


@pytest.mark.parametrize("outcome", ["topic", "stress"])
def test_contrastive_draws_alike_texts_together(outcome):
    """After contrastive epochs the embeddings of texts with alike outcomes are closer than
    before (classes: mean cosine within minus between topics; ratings: Spearman's rho of
    cosine with closeness of the ratings), on train texts; the loss falls, and the head
    refitted on the tuned embeddings predicts the dev rows."""
    prep = prepare(example_data().iloc[:160], "answer", outcome)
    split = split_rows(prep.y, prep.task, (0.75, 0.25, 0.0), 0)
    config = _config(strategy="contrastive", learning_rate=5e-5)
    labels = prep.labels if prep.task == "classification" else None
    tokenizer, before = load_base("default", prep.task, labels, pooling="mean")
    _, net, result = fine_tune(prep.texts, prep.y, split, prep.task, labels, config,
                               dev_scorer(prep.task), progress=False)
    rows = np.flatnonzero(split == "train")[:60]

    def separation(model):
        cos, alike = _alike_cosines(model, tokenizer, prep, rows)
        if prep.task == "classification":
            return cos[alike].mean() - cos[~alike].mean()
        return spearmanr(cos, alike).statistic

    assert separation(net) > separation(before) + 0.1
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert max(h["dev_metric"] for h in result.history) > (0.8 if labels else 0.5)


def test_layer_decay_gives_each_layer_its_rate():
    """Head at the learning rate, encoder layer i at rate * decay ** (6 - i), embeddings at
    rate * decay ** 7 (layers read from the parameter names, not from the code's map)."""
    _, net = load_base("default", "regression", None)
    optimiser = Optimiser(net, _config(layer_decay=0.5), 10, 2, torch.device("cpu"))
    rate = {id(p): g["initial_lr"] for g in optimiser.optimizer.param_groups for p in g["params"]}
    for name, p in net.named_parameters():
        layer = re.search(r"\.layer\.(\d+)\.", name)
        depth = 0 if ".embeddings." in name else int(layer[1]) + 1 if layer else 7
        assert rate[id(p)] == pytest.approx(1e-4 * 0.5 ** (7 - depth)), name
    plain = Optimiser(net, _config(), 10, 2, torch.device("cpu"))
    assert {g["initial_lr"] for g in plain.optimizer.param_groups} == {1e-4}


def test_strategy_validation():
    with pytest.raises(ValueError, match="strategy='adapters'.*one of auto, full, freeze, gradual, lora, contrastive"):
        _config(strategy="adapters")
    with pytest.raises(ValueError, match="freeze_layers=-1"):
        _config(strategy="freeze", freeze_layers=-1)


def test_too_many_frozen_layers(topics):
    prep, split = topics
    with pytest.raises(ValueError, match="freeze_layers=7, but the model has only 6 layers"):
        fine_tune(prep.texts, prep.y, split, prep.task, prep.labels,
                  _config(strategy="freeze", freeze_layers=7), SCORE, progress=False)


def test_class_weights():
    np.testing.assert_allclose(class_weights(np.array([0, 0, 0, 1, 2, 2]), 3), [2 / 3, 2, 1])
    from sklearn.utils.class_weight import compute_class_weight

    y = np.random.default_rng(0).integers(0, 4, 50)
    np.testing.assert_allclose(class_weights(y, 4),
                               compute_class_weight("balanced", classes=np.arange(4), y=y))


def test_length_grouping_cuts_padding_and_keeps_every_row():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, 2000)
    rows = np.arange(2000)
    padded = lambda batches: sum(len(b) * lengths[b].max() for b in batches)  # noqa: E731
    grouped = length_grouped(rows, lengths, 16, np.random.default_rng(1))
    plain = length_grouped(rows, lengths, 16, np.random.default_rng(1), group=False)
    assert sorted(np.concatenate(grouped).tolist()) == rows.tolist()
    assert padded(grouped) < 0.6 * padded(plain)
    again = length_grouped(rows, lengths, 16, np.random.default_rng(2))
    assert [b.tolist() for b in again] != [b.tolist() for b in grouped]  # still shuffled


def test_gradient_accumulation_matches_the_large_batch(topics):
    """Two accumulated batches of 8 train like batches of 16 (same number of optimiser
    steps; the losses differ only by dropout and batch composition)."""
    prep, split = topics
    losses = {}
    for name, kw in {"16": dict(batch_size=16), "8x2": dict(batch_size=8, grad_accumulation=2)}.items():
        _, _, result = fine_tune(prep.texts, prep.y, split, prep.task, prep.labels,
                                 _config(epochs=2, **kw), SCORE, progress=False)
        losses[name] = [h["train_loss"] for h in result.history]
    assert abs(losses["16"][1] - losses["8x2"][1]) < 0.15
    assert losses["8x2"][1] < losses["8x2"][0]


def test_pretrain_domain_writes_a_usable_model(tmp_path, examples):
    texts = examples["answer"].tolist()[:64]
    folder = pretrain_domain(texts, output_dir=tmp_path / "dapt", epochs=2, max_length=24,
                             progress=False)
    record = json.loads((folder / "domain_pretraining.json").read_text())
    assert record["n_texts"] == 64 and len(record["history"]) == 2
    assert record["history"][1]["mlm_loss"] < record["history"][0]["mlm_loss"]
    with pytest.raises(FileExistsError):
        pretrain_domain(texts, output_dir=folder, progress=False)
    fit = fit_text_model(examples.iloc[:120], "answer", "topic", model=folder, epochs=1,  # the Path it returns
                         max_length=24, progress=False, n_resamples=50, export="fp32",
                         output_dir=tmp_path / "fit")
    assert "domain-adaptive masked-LM pretraining on 64 texts" in fit.settings["base_model"]
    assert fit.settings["domain_pretraining"]["n_texts"] == 64
    _, base = load_base("default", "classification", ["a", "b"])
    _, adapted = load_base(folder, "classification", ["a", "b"])
    assert not torch.equal(base.bert.encoder.layer[0].attention.self.query.weight,
                           adapted.bert.encoder.layer[0].attention.self.query.weight)


def test_pretrain_domain_refuses_no_texts(tmp_path):
    with pytest.raises(ValueError, match="needs unlabelled texts; got 1"):
        pretrain_domain(["only one", " ", None], output_dir=tmp_path / "x", progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_mixed_precision_training_on_gpu(topics):
    """Same code path on a GPU: autocast (bf16, or fp16 with loss scaling); the model
    comes back on the CPU in fp32, ready for export."""
    prep, split = topics
    _, net, result = fine_tune(prep.texts, prep.y, split, prep.task, prep.labels,
                               _config(epochs=2), SCORE, progress=False)
    assert np.isfinite([h["train_loss"] for h in result.history]).all()
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert {p.device.type for p in net.parameters()} == {"cpu"}
    assert {p.dtype for p in net.parameters()} == {torch.float32}


def test_bf16_on_a_cpu_trains_under_autocast():
    """mixed_precision="bf16": the steps' matrix products run in bf16 on a CPU too, and the
    model still learns ("off" keeps fp32; "auto": tests/test_precision.py). On 48 texts, not
    the module's 160: without AVX512-BF16 or AMX, bf16 is emulated (141 s against 42 on an
    AVX2-only AMD EPYC)."""
    from pytext_psych.training.epochs import Optimiser

    _, net = load_base("default", "classification", ["a", "b"])
    for setting, dtype in (("bf16", torch.bfloat16), ("off", torch.float32)):
        optimiser = Optimiser(net, _config(mixed_precision=setting), 4, 1, torch.device("cpu"))
        with optimiser.autocast():
            assert net.classifier(torch.ones(1, net.config.hidden_size)).dtype == dtype
    names, changed, result = _changed(_topic_rows(48), _config(strategy="full", mixed_precision="bf16"))
    assert changed == set(names)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_pretrain_domain_reads_long_texts_whole(tmp_path):
    """A long unlabelled text is read whole, in consecutive windows of max_length tokens."""
    long_text = " ".join(f"word{k}" for k in range(120))  # far more than 24 tokens
    folder = pretrain_domain([long_text, "a short one"], output_dir=tmp_path / "dapt", epochs=1, max_length=24,
                             batch_size=1, progress=False)
    record = json.loads((folder / "domain_pretraining.json").read_text())
    assert record["stride"] == 22 and record["n_texts"] == 2
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))
    body = len(tokenizer(long_text)["input_ids"]) - 2  # the text's tokens, without [CLS] and [SEP]
    assert body > 100
    assert record["n_windows"] == -(-(body - 22) // 22) + 1 + 1  # the long text's windows cover it; the short: 1


def test_the_time_said_before_training_includes_the_dev_ratings_and_changes_nothing(topics, capsys):
    """With the progress bar on, the fit says its steps' and dev ratings' time after timing a
    few steps and a sample of dev texts; the fit is the same as one that says nothing."""
    prep, split = topics
    fits = [fine_tune(prep.texts, prep.y, split, prep.task, prep.labels, _config(epochs=2), SCORE,
                      progress=progress) for progress in (True, False)]
    said = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if "this machine" in line]
    assert len(said) == 1 and re.search(r"for all \d+ steps and 2 dev ratings of [\d.]+ s \(", said[0])
    (_, shown, told), (_, silent, quiet) = fits
    assert [h["dev_metric"] for h in told.history] == [h["dev_metric"] for h in quiet.history]
    assert all(torch.equal(a, b) for a, b in zip(shown.state_dict().values(), silent.state_dict().values()))
