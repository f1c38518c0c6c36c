"""The linear-probe warm start (LP-FT): the head starts as the penalised linear model
scikit-learn fits on features computed independently with plain transformers."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from transformers import AutoModel, AutoTokenizer, DataCollatorWithPadding

from pytext_psych import example_data
from pytext_psych.data.design import split_rows
from pytext_psych.data.reading import prepare
from pytext_psych.evaluation.baseline import PENALTIES
from pytext_psych.training.encoders import load_base, resolve_model
from pytext_psych.training.nets import TokenCache, predict_torch
from pytext_psych.training.probe import warm_start


@pytest.fixture(scope="module")
def answers():
    return example_data().sample(80, random_state=1)


def reference_features(texts) -> np.ndarray:
    """BERT's pooler applied to the masked mean of the top layer, from plain transformers."""
    name = resolve_model("default")
    tokenizer, base = AutoTokenizer.from_pretrained(name), AutoModel.from_pretrained(name).eval()
    enc = tokenizer(list(texts), truncation=True, max_length=32, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = base(**enc).last_hidden_state
        mask = enc["attention_mask"][:, :, None].float()
        mean = (hidden * mask).sum(1) / mask.sum(1)
        return base.pooler.activation(base.pooler.dense(mean)).numpy()


def _warm(prep, split, task, labels):
    tokenizer, net = load_base("default", task, labels, pooling="mean")
    encoded = TokenCache().encode(tokenizer, prep.texts, 32)
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    y = (prep.y - prep.y[split == "train"].mean()) / prep.y[split == "train"].std() \
        if task == "regression" else prep.y
    warm_start(net, encoded, collate, y, split, task, [len(labels or [0])])
    return predict_torch(net, encoded, collate), y


def test_warm_start_is_the_dev_chosen_ridge(answers):
    prep = prepare(answers, "answer", "stress")
    split = split_rows(prep.y, prep.task, seed=0)
    out, y = _warm(prep, split, "regression", None)
    x = reference_features(prep.texts)
    train, dev = split == "train", split == "dev"
    fits = {a: Ridge(alpha=a).fit(x[train], y[train]) for a in PENALTIES}
    best = min(PENALTIES, key=lambda a: (np.mean((fits[a].predict(x[dev]) - y[dev]) ** 2), -a))
    np.testing.assert_allclose(out[:, 0], fits[best].predict(x), atol=2e-3)


def test_warm_start_is_a_logistic_regression(answers):
    prep = prepare(answers, "answer", "topic")
    split = split_rows(prep.y, prep.task, seed=0)
    out, _ = _warm(prep, split, "classification", prep.labels)
    x = reference_features(prep.texts)
    train = split == "train"
    probs = torch.softmax(torch.as_tensor(out), 1).numpy()
    closest = min(np.abs(LogisticRegression(C=1 / p, max_iter=2000).fit(x[train], prep.y[train])
                         .predict_proba(x) - probs).max() for p in PENALTIES)
    assert closest < 2e-3
