"""explain(): leave-one-word-out attributions through the ONNX bundle, checked against
integrated gradients (captum) on the PyTorch model the bundle was exported from."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pytext_psych import example_data, explain, explanation_html, metadata, pipeline, request
from pytext_psych.scoring.explain import WORD
from pytext_psych.training.nets import TokenCache

TEXTS = ["My manager keeps adding deadlines and I work every weekend",
         "The rent went up again and the bills keep piling up",
         "My mother is ill and I worry about her health every day",
         "I feel lonely since my friends moved away",
         "Our kids fight all the time and my partner and I argue"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A fine-tune and its exported (unsealed) bundle, so both models are at hand. The old
    recipe (first token, random head): with mean pooling the gradients' all-padding baseline
    enters the mean (its tokens are attended), a third question beside removing a word and
    integrating from nothing; there mean rho was .36 (every text positive) against about .6
    here. strategy="full": "auto" would train these 250 texts on contrastive pairs, at
    several times the time."""
    job = request.check_request(example_data(), "answer", "topic", "auto",
                                 dict(epochs=3, max_length=32, learning_rate=1e-4, pooling="cls",
                                      linear_probe=False, strategy="full"),
                                 progress=False)
    run = job.data.design.runs[0]
    net = pipeline.train_run(job.data, run, job.settings, TokenCache(), progress=False)
    contract = metadata.scoring_contract(job.data.prep, "answer", job.settings, net.tokenizer.pad_token_id,
                                         "default")
    model = pipeline.export_model(job.data.prep, net, tmp_path_factory.mktemp("bundle"), contract,
                                  job.evaluation.precisions)
    return net, model


def integrated_gradients(net, tokenizer, text: str, label: int) -> np.ndarray:
    """captum's layer integrated gradients on the word embeddings (baseline: padding),
    summed over each token's embedding and then over the tokens of each word."""
    import torch
    from captum.attr import LayerIntegratedGradients

    enc = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=32)
    ids = torch.tensor([enc["input_ids"]])
    base = torch.full_like(ids, tokenizer.pad_token_id)
    base[0, 0], base[0, -1] = ids[0, 0], ids[0, -1]  # keep [CLS] and [SEP]
    mask = torch.ones_like(ids)
    net.eval()
    probability = lambda i, m: torch.softmax(net(input_ids=i, attention_mask=m).logits, -1)[:, label]  # noqa: E731
    attr = LayerIntegratedGradients(probability, net.base_model.embeddings.word_embeddings).attribute(
        ids, baselines=base, additional_forward_args=(mask,), n_steps=64).sum(-1)[0].detach().numpy()
    spans = [m.span() for m in WORD.finditer(text)]
    words = np.zeros(len(spans))
    for (a, b), value in zip(enc["offset_mapping"], attr):
        if b > a:
            words[next(i for i, (s, e) in enumerate(spans) if s <= a < e)] += value
    return words


def test_occlusion_ranks_words_like_integrated_gradients(trained):
    net, model = trained
    words = explain(model, TEXTS, precision="fp32")
    rhos = []
    for i, text in enumerate(TEXTS, start=1):
        mine = words[words.text_id == i]
        label = model.labels.index(mine.target.iloc[0])
        ig = integrated_gradients(net.net, net.tokenizer, text, label)
        rhos.append(spearmanr(mine.attribution, ig).statistic)
    # Two different questions (removing a word vs integrating its gradient from a padding
    # baseline) rank words alike but not identically; measured here: mean rho about .6.
    # A mean above .4 with every text positive rules out an explanation unrelated to the
    # model's gradients (random rankings give mean rho 0, SD about .35 per text).
    assert np.mean(rhos) > 0.4 and min(rhos) > 0, rhos


def test_explain_frame_html_and_batch_independence(topic_fit):
    words = explain(topic_fit, TEXTS[:2])
    assert list(words.columns) == ["text_id", "word_id", "word", "start", "end", "attribution",
                                   "target", "prediction"]
    first = words[words.text_id == 1]
    assert first.word.tolist() == TEXTS[0].split()
    assert [TEXTS[0][a:b] for a, b in zip(first.start, first.end)] == first.word.tolist()
    alone = explain(topic_fit, [TEXTS[1]])
    np.testing.assert_array_equal(alone.attribution, words[words.text_id == 2].attribution)
    health = explain(topic_fit, [TEXTS[2]], target="health")
    assert set(health.target) == {"health"}
    page = explanation_html(words)
    assert page.startswith("<!DOCTYPE html>") and "deadlines" in page and "rgba(" in page
    with pytest.raises(ValueError, match="not a class of this model"):
        explain(topic_fit, TEXTS[:1], target="nope")


def test_regression_explains_the_score(stress_fit):
    words = explain(stress_fit, ["I cannot sleep, the debts are crushing me"])
    assert set(words.target) == {"stress"}
    total = pd.Series(words.attribution).abs().sum()
    assert total > 0
