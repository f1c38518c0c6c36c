"""Every bundle carries a model card; info prints it; the researcher can state the
intended use and limitations, which reseals the bundle."""

import shutil

from tokenizers import Tokenizer

from pytext_psych import load_model, model_card
from pytext_psych.cli import main
from pytext_psych.scoring.bundle import bundle_digest


def test_card_in_every_bundle_and_in_info(topic_fit, capsys):
    card = (topic_fit.bundle_path / "model_card.md").read_text()
    assert "model_card.md" in load_model(topic_fit.bundle_path).description.files  # verified like the rest
    for part in ("# Model card: topic from answer", "license: apache-2.0", "Classes: ",
                 "Text length: median", "| f1_macro |", "Fine-tuned minus tfidf", "Fine-tuned minus embeddings",
                 "Agreement with the human coding", "int8: ", "## Intended use", "torch "):
        assert part in card, part
    assert main(["info", str(topic_fit.bundle_path)]) == 0
    assert "# Model card: topic from answer" in capsys.readouterr().out


def test_card_and_bundle_say_how_many_texts_were_cut(topic_fit, examples):
    """Counted again with the bundle's own tokenizer (the tokenizers library, uncut)."""
    tok = Tokenizer.from_file(str(topic_fit.bundle_path / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    lengths = [len(e.ids) for e in tok.encode_batch(list(examples.answer))]
    longer = sum(n > 32 for n in lengths)
    assert 0 < longer < len(lengths)  # max_length 32 cuts some of the example answers
    tokens = load_model(topic_fit.bundle_path).description.data["tokens"]
    assert (tokens["longer"], tokens["longest"], tokens["max_length"]) == (longer, max(lengths), 32)
    card = (topic_fit.bundle_path / "model_card.md").read_text()
    assert (f"longest {max(lengths)}; {longer} of 400 texts longer than 32 tokens (read in windows of 32 "
            "tokens every 15, their outputs averaged)") in card


def test_stating_intended_use_reseals_the_bundle(topic_fit, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(topic_fit.bundle_path, copy)
    before = bundle_digest(copy)
    card = model_card(copy, intended_use="Research on what stresses adults.",
                      limitations="English only; not for individual diagnosis.")
    assert "Research on what stresses adults." in card and "English only" in card
    assert load_model(copy).description.card["limitations"].startswith("English only")
    assert bundle_digest(copy) != before
    assert model_card(copy) == card
