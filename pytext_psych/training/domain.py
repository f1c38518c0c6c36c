"""Domain-adaptive pretraining: continue masked-LM training of the encoder on unlabelled
texts from the study's domain (Gururangan et al., 2020), then fine-tune that folder.

Uses the training loop's pieces (:mod:`pytext_psych.training.train`); the folder is written
through :mod:`pytext_psych.core.outputs` (reserved, staged, published with one rename).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import AutoTokenizer

from ..core.outputs import default_folder, reserve
from ..core.settings import TrainSettings
from .checkpoints import Checkpoints
from .encoders import DEFAULT_MODEL, check_model, quiet_transformers, resolve_model
from .epochs import Epochs, Optimiser, length_grouped
from .nets import TokenCache, save_pretrained, seeded, using_all_cores
from .parallel import refuse_if_launched

DOMAIN_JSON = "domain_pretraining.json"  # written by pretrain_domain into its model folder


def pretrain_domain(
    texts: Sequence[str],
    model: str | Path = DEFAULT_MODEL,
    output_dir: str | Path | None = None,
    *,
    epochs: int = 3,
    learning_rate: float = 5e-5,
    batch_size: int = 16,
    max_length: int = 128,
    mlm_probability: float = 0.15,
    grad_accumulation: int = 1,
    seed: int = 42,
    overwrite: bool = False,
    progress: bool = True,
    resume: bool = True,
) -> Path:
    """Domain-adaptive pretraining: continue masked-LM training of ``model`` on unlabelled
    ``texts`` (Gururangan et al., 2020, "Don't stop pretraining"), then save a model folder
    that ``fit_text_model(..., model=folder)`` fine-tunes like any other.

    Worth trying when the survey's language is far from the encoder's pretraining text and
    unlabelled answers are plentiful (thousands); with a few hundred texts expect little.
    A text longer than ``max_length`` tokens is read whole, in consecutive windows of
    ``max_length`` tokens (see :mod:`pytext_psych.core.windows`).
    A checkpoint without a masked-LM head (such as the default sentence-transformers
    MiniLM) gets a fresh one, tied to the word embeddings. The folder is written
    atomically; an existing one is replaced only with ``overwrite=True``. Progress is saved
    every epoch next to ``output_dir``; after a crash or Ctrl-C the same call resumes
    (``resume=False`` starts over).

    Examples
    --------
    >>> folder = pretrain_domain(unlabelled_answers, output_dir="minilm-survey")  # doctest: +SKIP
    >>> fit = fit_text_model(df, "answer", "stress", model=folder)                # doctest: +SKIP
    """
    refuse_if_launched("pretrain_domain")
    texts = [str(t) for t in texts if isinstance(t, str) and t.strip()]
    if len(texts) < 2:
        raise ValueError(f"domain pretraining needs unlabelled texts; got {len(texts)}")
    # a longer text is read whole, in consecutive windows (no overlap: each token is masked
    # and predicted in one window, and masked-LM training needs no pooled output)
    config = TrainSettings(epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                           max_length=max_length, stride=max(1, max_length - 2), patience=1, seed=seed,
                           grad_accumulation=grad_accumulation)
    if not 0 < mlm_probability < 1:
        raise ValueError(f"mlm_probability must be between 0 and 1, not {mlm_probability}")
    check_model(model, max_length)
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True or False, not {resume!r}")
    with reserve(output_dir if output_dir is not None else default_folder("pytext_psych_domain"),
                 overwrite=overwrite, marker=DOMAIN_JSON) as slot:
        checkpoints = Checkpoints(slot.target, resume)
        checkpoint = checkpoints.slot("domain", texts, str(model), config.to_dict(), mlm_probability)
        tokenizer, net, history, n_windows = _masked_lm(texts, model, config, mlm_probability, progress, checkpoint)
        with slot.staged() as stage:
            save_pretrained(tokenizer, net, stage)
            files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
            (stage / DOMAIN_JSON).write_text(json.dumps({
                "base_model": str(model), "n_texts": len(texts), "n_windows": n_windows,
                "mlm_probability": mlm_probability,
                **config.to_dict(), "history": history, "files": files}, indent=2))
        checkpoints.discard()
    return slot.target


def _masked_lm(texts: list[str], model: str | Path, config: TrainSettings, mlm_probability: float,
               progress: bool, checkpoint):
    """Masked-LM training of ``model`` on ``texts``: tokenizer, model, loss history and the
    number of windows the texts were read in."""
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    name = resolve_model(model)
    seed, epochs, batch_size = config.seed, config.epochs, config.batch_size
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with seeded(seed), using_all_cores():
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
        if tokenizer.mask_token is None:
            raise ValueError(f"the tokenizer of '{model}' has no mask token; it cannot do masked-LM training")
        with quiet_transformers():
            net = AutoModelForMaskedLM.from_pretrained(name, trust_remote_code=False).to(device)
        windows = TokenCache().windows(tokenizer, texts, config.max_length, config.window_stride)[0]
        encoded = [{"input_ids": e["input_ids"]} for e in windows]
        lengths = np.array([len(e["input_ids"]) for e in encoded])
        masker = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability,
                                                 return_tensors="pt")
        optimiser = Optimiser(net, config, -(-len(encoded) // batch_size), epochs, device)
        shuffler = np.random.default_rng(seed)

        def loss_of(rows: np.ndarray):
            batch = masker([encoded[i] for i in rows])
            return net(**{k: v.to(device) for k, v in batch.items()}).loss

        rows = np.arange(len(encoded))
        done = Epochs(net, optimiser, shuffler, config,
                      lambda: length_grouped(rows, lengths, batch_size, shuffler), loss_of
                      ).run(checkpoint, "domain pretraining", progress)
        history = [{"epoch": h["epoch"], "mlm_loss": h["train_loss"], "seconds": h["seconds"]}
                   for h in done.history]
        net.to("cpu").eval()
    return tokenizer, net, history, len(encoded)


def domain_record(model: str | Path) -> dict[str, Any] | None:
    """The record :func:`pretrain_domain` left in a model folder (None for other models)."""
    path = Path(resolve_model(model)) / DOMAIN_JSON
    return json.loads(path.read_text()) if path.is_file() else None
