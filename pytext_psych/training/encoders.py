"""Finding and loading the pretrained encoder: the offline default, a local folder or a
hub name; checked (config only) before any training; never remote code."""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from ..core.windows import pooled, windows

DEFAULT_MODEL = "default"
AUTO = "auto"  # chosen per fit before anything loads (:mod:`.encoder_choice`)


def resolve_model(model: str | Path) -> str:
    """A model name as transformers loads it: a name the package knows (``"default"``,
    ``"mpnet-base"``; :func:`pytext_psych.models`) -> its verified folder (assembled on first
    use); a folder or hub name -> itself."""
    from ..core.assembly import model_folder
    from ..core.catalog import known_model

    if str(model) == AUTO:
        raise ValueError("model='auto' picks the encoder for a fit's data (fit_text_model, tune_text_model, "
                         "learning_curve); here name one: 'default', 'mpnet-base', a hub name or a folder")
    known = known_model(str(model))
    return str(model) if known is None else str(model_folder(known))


def describe_encoder(model: str | Path) -> dict[str, Any]:
    """What a bundle records of the encoder: a known model's name, source, revision and
    pinned weights digest; a folder's path and its weights' sha256; a hub name as given."""
    from ..core.catalog import known_model
    from ..core.outputs import sha256_file

    known = known_model(str(model))
    if known is not None:
        return known.describe()
    weights = Path(model) / "model.safetensors"
    return {"name": str(model), "source": "local folder" if Path(model).is_dir() else "Hugging Face Hub",
            "weights_sha256": sha256_file(weights) if weights.is_file() else None}


def token_lengths(model: str | Path, texts: Sequence[str]) -> np.ndarray:
    """Each text's length in ``model``'s tokens, special tokens included, uncut."""
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(model), trust_remote_code=False)
        ids = tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
    return np.array([len(i) for i in ids], dtype=np.int64)


def check_model(model: str | Path, max_length: int) -> None:
    """Before any training: ``model`` is a transformers model that can be loaded here (the
    default, a local folder, or a name in the local Hugging Face cache or reachable hub)
    and reads ``max_length`` tokens. Reads only the model's config, not its weights."""
    from transformers import AutoConfig

    name = resolve_model(model)
    if Path(name).exists() and not (Path(name) / "config.json").is_file():
        raise ValueError(f"model folder '{name}' is not a transformers model (it has no "
                         "config.json); pass a folder written by save_pretrained() or "
                         "pretrain_domain(), a Hugging Face model name, or 'default'")
    offline = not Path(name).exists() and not hub_reachable()
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(name, trust_remote_code=False, local_files_only=offline)
    except (OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"model {str(model)!r} cannot be loaded: it is not a local model folder, and it is "
            "neither in the local Hugging Face cache nor reachable on the Hub"
            f"{' (no connection to it from here)' if offline else ''}. Without internet only "
            "the named models (pytext_psych.models()) and local folders work; check the name. "
            f"[{reason}]") from None
    limit = getattr(config, "max_position_embeddings", None)
    if limit and config.model_type in _OFFSET_POSITIONS:
        limit -= 2  # positions start after the padding index
    if limit and max_length > limit:
        raise ValueError(f"max_length={max_length} is more than model {str(model)!r} can read "
                         f"({limit} tokens); use max_length={limit} or less")


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub's host takes a connection within ``timeout`` seconds
    (False with ``HF_HUB_OFFLINE=1``; True behind a proxy, which only a download can test).

    Asked before a model name that is not a folder is looked up online: without a network,
    huggingface_hub retries the lookup five times with back-off, about 25 s of waiting
    before the error, where this answers in at most ``timeout``."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=timeout).close()
    except OSError:
        return False
    return True


_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet"}


@contextmanager
def quiet_transformers():
    """Hide transformers' load report and progress bars, restoring its settings after."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_base(model: str | Path, task: str, labels: Sequence[str] | None, head: str | None = None,
              outputs: int | None = None, pooling: str = "cls"):
    """Tokenizer and encoder with a fresh head; never runs remote code. ``outputs``: the
    head's width for several outcomes (the loss is the fit's own); ``pooling``: what the
    head reads (see :func:`pool_mean`)."""
    name = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    if outputs is not None:
        kwargs = dict(num_labels=outputs)
    elif task == "classification":
        kwargs = dict(
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="single_label_classification",
        )
    elif task == "ordinal" and head == "corn":  # one conditional logit per cut (pytext_psych.stats.ordinal)
        kwargs = dict(num_labels=len(labels) - 1)
    else:
        kwargs = dict(num_labels=1, problem_type="regression")
    with quiet_transformers():
        net = AutoModelForSequenceClassification.from_pretrained(
            name, trust_remote_code=False, **kwargs
        )
    if pooling == "mean":
        pool_mean(net)
    return tokenizer, net


def load_torch_model(folder: str | Path):
    """The fine-tuned PyTorch model a bundle holds (tokenizer, network in eval mode), with
    the pooling its ``config.json`` records: plain
    ``AutoModelForSequenceClassification.from_pretrained(bundle)`` reads the first token
    even where the model was trained to read the mean (``pooling = "mean"``), as
    sentence-transformers' pooling is also not part of a transformers config. For going on
    with PyTorch (gradients, further training); scoring needs only :func:`load_model`.
    Never runs remote code.

    >>> tokenizer, net = load_torch_model(fit.bundle_path)  # doctest: +SKIP
    """
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    with quiet_transformers():
        net = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=False)
    if getattr(net.config, "pooling", "cls") == "mean":
        pool_mean(net)
    return tokenizer, net.eval()


def encoder_layers(net) -> list:
    """The encoder's transformer blocks, bottom to top (BERT, RoBERTa, DistilBERT, ...)."""
    import torch

    n = net.config.num_hidden_layers
    for module in net.base_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return list(module)
    raise ValueError(f"cannot find the {n} encoder layers of this model; "
                     "use strategy='full' or 'lora'")


def layer_depths(net) -> dict[str, int]:
    """Each parameter's depth below the head, by name: 0 for the embeddings, i + 1 for
    encoder layer i. Parameters above the encoder (pooler, head) are not listed."""
    depth = {id(p): i + 1 for i, layer in enumerate(encoder_layers(net)) for p in layer.parameters()}
    return {name: depth.get(id(p), 0) for name, p in net.named_parameters()
            if id(p) in depth or ".embeddings." in f".{name}"}


def pool_mean(net) -> None:
    """Make the head read the mean of the top layer's token vectors instead of the first
    token's: the top layer's first position is replaced by the masked mean over the text's
    tokens, so every head that reads the first token (BERT's pooler, the classification heads
    of RoBERTa, DistilBERT, MPNet and ELECTRA) reads the mean. Recorded in the config
    (``pooling = "mean"``), so the export knows every position is needed."""
    import torch

    seen: dict = {}

    def keep_mask(module, args, kwargs):
        seen["mask"] = kwargs.get("attention_mask")

    def first_is_mean(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output  # some layers return tuples
        mask = seen["mask"]
        if mask is None:
            mean = hidden.mean(1, keepdim=True)
        else:
            # the masked sum as one matrix product per text, not a sum over the batch's
            # tensor: onnxruntime's ReduceSum over axis 1 of (batch, tokens, width) adds in
            # another order when the batch has more than one text (up to 2e-6 apart)
            weight = mask[:, None, :].to(hidden.dtype)
            mean = torch.matmul(weight, hidden) / weight.sum(2, keepdim=True).clamp(min=1)
        pooled = torch.cat([mean, hidden[:, 1:]], 1)
        return (pooled, *output[1:]) if isinstance(output, tuple) else pooled

    net.base_model.register_forward_pre_hook(keep_mask, with_kwargs=True)
    encoder_layers(net)[-1].register_forward_hook(first_is_mean)
    net.config.pooling = "mean"


def text_embeddings(model: str | Path, texts: Sequence[str], max_length: int, stride: int | None,
                    mixed_precision: str = "off", batch_size: int = 32) -> np.ndarray:
    """Frozen-encoder embeddings of ``texts`` as the R package ``text``'s ``textEmbed``
    makes them by default (``layers = -2``, ``aggregation_from_tokens_to_texts = "mean"``):
    each token's vector from the second-to-last layer, special tokens included, averaged
    over the text's tokens; a long text's windows (every ``stride`` tokens, see
    :mod:`pytext_psych.core.windows`) averaged. For the embedding baseline
    (:mod:`pytext_psych.evaluation.baseline`). Windows are batched by length (less padding),
    under the autocast ``mixed_precision`` gives on a CPU (the fit's, see
    :func:`~pytext_psych.training.precision.autocast_for`)."""
    import torch
    from transformers import AutoModel

    from .precision import autocast

    name = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    with quiet_transformers():
        net = AutoModel.from_pretrained(name, trust_remote_code=False).eval()
    parts = [windows(ids, max_length, stride) for ids in tokenizer(list(texts), verbose=False)["input_ids"]]
    flat, owner = [w for p in parts for w in p], np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    out = np.empty((len(flat), net.config.hidden_size), dtype=np.float32)
    order = np.argsort([len(w) for w in flat], kind="stable")
    with torch.inference_mode(), autocast("cpu", mixed_precision):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [flat[i] for i in rows]}, return_tensors="pt")
            hidden = net(**batch, output_hidden_states=True).hidden_states[-2]
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out[rows] = ((hidden * mask).sum(1) / mask.sum(1)).float().numpy()
    return pooled(out, owner)
