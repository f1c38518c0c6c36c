"""Scoring new texts with a model bundle: fast tokenizer -> onnxruntime -> DataFrame.

No torch and no transformers here: a bundle scores with numpy, pandas, tokenizers and
onnxruntime only (the light install, ``pip install pytext-psych``).

Same text, same score: a text longer than the bundle's ``max_length`` is read in sliding
windows (:mod:`pytext_psych.core.windows`), its output the mean of theirs, and windows are
scored in batches of equal length with no padding, only for precisions whose export
verified that a window's outputs are then the same bit for bit as scored alone
(``onnx.batch_invariant``: int8 with static activation scales, fp32 with the mean pooling
as a matrix product); other bundles are scored one window per call. So a prediction never
depends on its batch-mates, the input order or the chunking.
Throughput comes from: the Rust tokenizer called on whole chunks of texts; no padding at
all; the optimised (fused) ONNX graph, int8 where the parity report allows it; batches of
the size measured fastest on this machine (:mod:`.plan`); one onnxruntime session per
bundle and precision, created once and reused, called from as many threads as cores this
process may use. Files are streamed in chunks, so memory stays bounded however many rows
they hold.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np

from ..core.description import Description
from ..core.outputs import sha256_file
from ..core.settings import PRECISIONS
from ..core.windows import length_batches, pooled, windows
from ..stats import conformal_threshold
from .bundle import BUNDLE_JSON, TOKENIZER_JSON, BundleError, bundle_digest, read_bundle
from .pieces import Pieces
from .plan import (PLAN_TEXTS, PROBE_TOKENS, BatchPlan, batching_exact, cached_plan, fastest_batch, keep_plan,
                   measure, plan_key, probe_batch)
from .sessions import session_options

CHUNK = 4096  # texts tokenised together; bounds memory
# onnxruntime would fuse the export's Add + LayerNormalization back into its
# SkipLayerNormalization at load, a kernel 4.4x slower on CPUs (training/export.py)
UNFUSED = ["SkipLayerNormFusion"]


def _providers(precision: str, available: Sequence[str]) -> list[str]:
    """Where a ``precision``'s graph runs: fp32 and fp16 on CUDA where onnxruntime offers it,
    int8 always on the CPU. onnxruntime's CUDA provider has no kernel for the int8 graph's
    ``MatMulIntegerToFloat`` or ``QEmbedLayerNormalization``, and its ``QAttention`` takes
    int8 activations, not the export's uint8 ones (onnxruntime's ``docs/OperatorKernels.md``):
    on CUDA an int8 graph would be split between GPU and CPU, copied across at every layer."""
    wanted = ["CPUExecutionProvider"] if precision == "int8" else ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in wanted if p in available]


class TextModel:
    """A verified model bundle, ready to score; made by :func:`load_model`.

    ``description`` is the bundle's :class:`~pytext_psych.core.description.Description`.
    Sessions (one per precision) are created on first use and reused across calls.
    """

    def __init__(self, path: str | Path, description: Description):
        self.path = Path(path)
        self.description = description
        self._sessions: dict[str, Any] = {}
        self._plans: dict[str, BatchPlan | None] = {}  # None: not in the cache, not measured yet
        self._tokenizer = None

    @property
    def task(self) -> str:
        return self.description.task

    @property
    def labels(self) -> list[str] | None:
        return self.description.labels

    def __repr__(self) -> str:
        d = self.description
        return (f"<TextModel: {_what(d)}\n  base model: {d.base_model}; max_length {d.max_length}; "
                f"ONNX {', '.join(d.onnx['files'])} (auto uses {self.resolve_precision('auto')})"
                f"{_headline(d)}\n  bundle: {self.path}>")

    def resolve_precision(self, precision: str = "auto") -> str:
        """``"auto"``: int8 when the bundle has it and its parity report recommends it, else
        the first the bundle has of fp32, fp16 and int8. It follows the bundle, not the
        machine, so one bundle gives one precision's scores on every computer."""
        files = self.description.onnx["files"]
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if precision == "auto":
            int8_ok = self.description.parity.get("int8", {}).get("recommended", False)
            preference = ("int8", "fp32", "fp16") if int8_ok else ("fp32", "fp16", "int8")
            return next(p for p in preference if p in files)
        if precision not in files:
            raise ValueError(f"this bundle has no {precision} model; it has {sorted(files)}")
        return precision

    def conformal_threshold(self, interval: float) -> float:
        """The split-conformal threshold for coverage ``interval``, from the calibration
        scores stored in the bundle (dev split, or out-of-fold predictions with cv); for
        a one-outcome model or a view of one outcome."""
        calibration = self.description.outcomes[0].calibration
        if calibration is None:
            raise ValueError("this bundle has no calibration cases (it was fitted without a "
                             "dev split), so it cannot give prediction intervals")
        return conformal_threshold(calibration["scores"], interval)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / TOKENIZER_JSON))
            tok.no_padding()
            if self.description.stride is None:  # else uncut: long texts are read in windows
                tok.enable_truncation(max_length=self.description.max_length)
            self._tokenizer = tok
        return self._tokenizer

    def session(self, precision: str = "auto"):
        precision = self.resolve_precision(precision)
        if precision not in self._sessions:
            import onnxruntime as ort

            options = session_options(threads=1)  # parallel across batches instead: see raw_outputs
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._sessions[precision] = ort.InferenceSession(
                str(self.path / self.description.onnx["files"][precision]), options,
                providers=_providers(precision, ort.get_available_providers()), disabled_optimizers=UNFUSED,
            )
        return self._sessions[precision]

    def _call(self, precision: str) -> Callable[[np.ndarray], np.ndarray]:
        """One onnxruntime call on a (windows, tokens) array of ids of equal length."""
        session = self.session(precision)
        names = {i.name for i in session.get_inputs()}

        def run(ids: np.ndarray) -> np.ndarray:
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            return session.run(None, {n: v for n, v in feed.items() if n in names})[0]
        return run

    def plan(self, precision: str = "auto") -> BatchPlan:
        """How ``precision`` is batched on this machine (:mod:`pytext_psych.scoring.plan`):
        measured once per machine and bundle, then read from the cache."""
        precision = self.resolve_precision(precision)
        if self._known_plan(precision) is None:
            self._plans[precision] = self._measured_plan(precision)
            keep_plan(self._plan_key(precision), self._plans[precision])
        return self._plans[precision]

    def _known_plan(self, precision: str) -> BatchPlan | None:
        """``precision``'s plan where it is known without measuring: one window per call for a
        precision not verified batch-invariant, else the plan measured before (in this
        session or the cache); None while none is (the cache is read once)."""
        if precision not in self._plans:
            invariant = precision in self.description.onnx.get("batch_invariant", ())
            self._plans[precision] = (cached_plan(self._plan_key(precision)) if invariant
                                      else BatchPlan(0, "not batch-invariant"))
        return self._plans[precision]

    def _plan_key(self, precision: str) -> str:
        name = self.description.onnx["files"][precision]
        return plan_key(self.description.files.get(name) or sha256_file(self.path / name), precision)

    def tokens_per_call(self, precision: str, texts: int) -> int:
        """Tokens per onnxruntime call for a call that scores ``texts`` texts: the plan's
        (:meth:`plan`); but while no plan is known, a call of fewer than
        :data:`~pytext_psych.scoring.plan.PLAN_TEXTS` texts scores one window per call and
        measures nothing, as measuring would cost it more than batching saves. Either way
        the scores are the same (a plan batches only where batching is exact)."""
        precision = self.resolve_precision(precision)
        if self._known_plan(precision) is None and texts < PLAN_TEXTS:
            return 0
        return self.plan(precision).batch_tokens

    def _measured_plan(self, precision: str) -> BatchPlan:
        """Batching checked exact on this machine (short and full-length windows), then the
        fastest batch size measured on short ones (:mod:`.plan`)."""
        run, longest = self._call(precision), self.description.max_length
        vocab = self.tokenizer.get_vocab_size(with_added_tokens=False)
        probe, full = self._probe_window(), self._probe_window(longest)
        if not batching_exact(run, [probe_batch(probe, vocab, 16), probe_batch(full, vocab, 3, seed=1)]):
            return BatchPlan(0, "batching not exact here")
        speeds = measure(run, probe)
        return BatchPlan(fastest_batch(speeds) * len(probe), "measured", speeds)

    def _probe_window(self, length: int = PROBE_TOKENS) -> list[int]:
        """The ids of one window of ``length`` tokens (at most the bundle's ``max_length``),
        special tokens included: what a plan is timed and checked on."""
        length = min(length, self.description.max_length)
        return self.tokenizer.encode(" ".join(["worry"] * length)).ids[:length]

    def raw_outputs(self, texts: Sequence[str], precision: str = "auto", threads: int | None = None,
                    batch_tokens: int | None = None) -> np.ndarray:
        """Model outputs (logits, or standardised scores) for ``texts``, in input order.

        Texts are cut into windows (one for a text that fits), windows of equal length go
        through onnxruntime together in batches of up to ``batch_tokens`` tokens (default:
        :meth:`tokens_per_call`; 0: one window per call), no padding, and each text's output is the
        mean of its windows'. Batches run in parallel on ``threads`` threads (default: the
        cores this process may use), each call single-threaded.
        """
        return self.outputs_and_pieces(texts, precision, threads, batch_tokens)[0]

    def outputs_and_pieces(self, texts: Sequence[str], precision: str = "auto", threads: int | None = None,
                           batch_tokens: int | None = None) -> tuple[np.ndarray, Pieces]:
        """:meth:`raw_outputs`, and what the tokenizer made of each text (:class:`~.pieces.Pieces`,
        counted from the same encodings: the shift check reads them). Texts are tokenized
        :data:`CHUNK` at a time, so memory stays bounded however many there are."""
        d, run = self.description, self._call(precision)
        budget = self.tokens_per_call(precision, len(texts)) if batch_tokens is None else batch_tokens
        outputs = np.empty((len(texts), d.num_outputs), dtype=np.float32)
        counts = np.empty((len(texts), 3))
        with ThreadPoolExecutor(_workers(threads)) as pool:
            for start, encodings in self._encoded(texts):
                counts[start : start + len(encodings)] = Pieces.of(encodings).counts
                cut = [windows(e.ids, d.max_length, d.stride) for e in encodings]
                owner = np.repeat(np.arange(len(cut)), [len(c) for c in cut])
                flat = [w for c in cut for w in c]
                scored = np.empty((len(flat), d.num_outputs), dtype=np.float32)

                def score(rows: np.ndarray) -> None:
                    scored[rows] = run(np.asarray([flat[i] for i in rows], dtype=np.int64))
                list(pool.map(score, length_batches([len(w) for w in flat], budget)))
                outputs[start : start + len(cut)] = pooled(scored, owner)
        return outputs, Pieces(counts)

    def pieces(self, texts: Sequence[str]) -> Pieces:
        """What the tokenizer makes of ``texts``, without scoring them (:data:`CHUNK` at a time)."""
        parts = [Pieces.of(encodings).counts for _, encodings in self._encoded(texts)]
        return Pieces(np.concatenate(parts) if parts else np.empty((0, 3)))

    def _encoded(self, texts: Sequence[str]):
        """``(start, encodings)`` of ``texts``, :data:`CHUNK` at a time (memory stays bounded)."""
        for start in range(0, len(texts), CHUNK):
            yield start, self.tokenizer.encode_batch(list(texts[start : start + CHUNK]))


def _workers(threads: int | None) -> int:
    workers = threads or len(os.sched_getaffinity(0))
    if workers < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    return workers


def _what(d: Description) -> str:
    """The model in words, for its repr."""
    if d.several:
        return f"{d.task} of {len(d.outcomes)} outcomes in one model"
    one, labels = d.outcomes[0], d.labels or []
    shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
    if d.task == "classification":
        return f"classification into {len(labels)} classes ({shown})"
    if d.task == "ordinal":
        return (f"ordinal ratings of '{one.name}' ({len(labels)} levels, {', '.join(labels[:9])}; "
                f"{one.ordinal_head} head)")
    return f"regression of '{one.name}'"


def _headline(d: Description) -> str:
    """The test metrics' headline lines, for the repr."""
    return "".join(f"\n  test {m.get('outcome', '')}{' ' if 'outcome' in m else ''}{m['metric']} = "
                   f"{m['estimate']:.3f} [{m['conf_low']:.3f}, {m['conf_high']:.3f}]"
                   for m in d.metrics if m.get("metric") in ("f1_macro", "pearson_r"))


def load_model(path: str | Path, digest: str | None = None) -> TextModel:
    """Load a model bundle written by :func:`fit_text_model`, verifying every file's sha256.

    ``digest``: the bundle's published digest (``pytext-psych info`` prints it; see
    :func:`pytext_psych.scoring.bundle.bundle_digest`); a bundle that differs from it is refused.
    The per-file checksums alone catch accidents, not a forger who recomputes them.

    Examples
    --------
    >>> model = load_model("my_model/")          # doctest: +SKIP
    >>> predict_scores(model, ["I can't sleep"])  # doctest: +SKIP
    """
    if digest is not None and not isinstance(digest, str):
        raise TypeError(f"digest must be the bundle's published digest (a string), not {digest!r}")
    description = read_bundle(path)
    if digest is not None:
        actual = bundle_digest(path)
        if actual != digest.strip().lower().removeprefix("sha256:"):
            raise BundleError(f"model bundle '{path}' has digest {actual}, not the expected "
                              f"{digest}; it is not the bundle that digest was published for")
    return TextModel(path, description)


def _signature(folder: Path) -> tuple:
    """Size and mtime of every file: a changed file means a fresh load (and verification)."""
    stats = ((p.relative_to(folder).as_posix(), p.lstat()) for p in folder.rglob("*"))
    return tuple(sorted((name, st.st_size, st.st_mtime_ns) for name, st in stats))


@lru_cache(maxsize=8)
def _cached_model(folder: str, signature: tuple) -> TextModel:
    return load_model(folder)


ModelLike = Union[TextModel, str, Path, Any]


def _as_model(model: ModelLike) -> TextModel:
    """A TextModel from a model, a fit, or a bundle path (loaded once, then cached)."""
    if isinstance(model, TextModel):
        return model
    path = getattr(model, "bundle_path", model)  # a TextModelFit
    if isinstance(path, (str, Path)):
        folder = Path(path).resolve()
        if not (folder / BUNDLE_JSON).is_file():
            return load_model(folder)  # raises the clear BundleError
        return _cached_model(str(folder), _signature(folder))
    raise TypeError(
        f"model must be a bundle path, a TextModel or a TextModelFit, not {type(model).__name__}"
    )
