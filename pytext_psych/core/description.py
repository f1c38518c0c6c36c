"""What a model bundle says about itself (its ``bundle.json``), as typed, frozen records.

A :class:`Description` is built in one place (the fit's last step), read everywhere
through attributes, and changed only by making a new one (:meth:`Description.but`). Its
scoring contract is typed in full: the text column, the token limit and one
:class:`Outcome` per outcome (always a tuple, one outcome being a tuple of one), each with
its task, labels, target scaling, ordinal head and its block of the network's output. The
reports a fit writes next to the contract (training record, evaluation, parity, manifest,
shift profile, ...) are read-only mappings: they are tables and records to show, not rules
scoring follows.

On disk the layout is the one bundles have always had (flat keys), so every bundle written
before these records existed still loads: :meth:`Description.from_json` reads it,
:meth:`Description.to_json` writes it, and keys this version does not know are kept as
they were. Format 2 adds ``stride``, how long texts are read (sliding windows,
:mod:`pytext_psych.core.windows`), and each code's ``threshold`` (several codes per
text) with their ``code_calibration`` (conformal sets of codes); format 1 bundles
truncate and predict the most probable class, and a reader that knows only format 1
refuses format 2 rather than score another way.

>>> d = Description.from_json({"format_version": 1, "task": "regression", "text": "answer",
...     "outcome": "anxiety", "target_mean": 5.0, "target_sd": 2.0, "max_length": 128,
...     "num_outputs": 1, "onnx": {"files": {"int8": "model_int8.onnx"}}})
>>> d.task, d.outcomes[0].name, d.outcomes[0].target_sd, d.several
('regression', 'anxiety', 2.0, False)
>>> d.to_json()["target_mean"]
5.0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

FORMAT_VERSION = 2  # the schema version bundle.json is written in
READABLE_FORMATS = (1, 2)  # a reader refuses any other; 1: before windows (truncation)

# Each outcome's keys in a several-outcome bundle's "outcomes" list (and, for one outcome,
# at the top level); "columns" is its block of the network's output.
_OWN = ("task", "outcome", "labels", "level_values", "target_mean", "target_sd", "num_outputs",
        "ordinal_head", "calibration")
# The reports: records kept as read-only mappings (or, for "metrics", a tuple of them).
_RECORDS = ("onnx", "parity", "files", "training", "evaluation", "manifest", "card", "data",
            "encoder", "n", "shift")
_OTHER_KEYS = ("format_version", "text", "max_length", "pad_token_id", "base_model", "metrics",
               "metrics_precision", "manifest_sha256", "ordinal_cuts", "outcomes", "stride", "code_calibration")


def _frozen(value: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _tuple(values: Any) -> tuple | None:
    return None if values is None else tuple(values)


@dataclass(frozen=True)
class Outcome:
    """One outcome's scoring rules: how its block of the network's output becomes scores."""

    name: str
    task: str  # "classification", "regression" or "ordinal"
    columns: tuple[int, int]  # its block of the network's output: [start, stop)
    labels: tuple[str, ...] | None = None  # classes, or ordinal levels in order
    level_values: tuple[float, ...] | None = None  # ordinal: each level's value
    target_mean: float | None = None  # regression: the training targets' mean and SD
    target_sd: float | None = None
    ordinal_head: str | None = None  # "corn" or "cumulative"
    ordinal_cuts: tuple[float, ...] | None = None  # the cumulative-link head's cut points
    calibration: Mapping[str, Any] | None = None  # conformal scores of the dev cases
    threshold: float | None = None  # a code (two classes): its second class from this probability on

    def __post_init__(self):
        for name in ("labels", "level_values", "ordinal_cuts", "columns"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        if self.calibration is not None:
            object.__setattr__(self, "calibration", _frozen(self.calibration))

    @property
    def width(self) -> int:
        return self.columns[1] - self.columns[0]

    def to_json(self) -> dict[str, Any]:
        """This outcome's keys as an entry of a several-outcome bundle's ``"outcomes"``."""
        return {"task": self.task, "outcome": self.name, "labels": _list(self.labels),
                "level_values": _list(self.level_values), "target_mean": self.target_mean,
                "target_sd": self.target_sd, "num_outputs": self.width, "ordinal_head": self.ordinal_head,
                "calibration": None if self.calibration is None else dict(self.calibration),
                "columns": list(self.columns), **({} if self.threshold is None else {"threshold": self.threshold})}

    @classmethod
    def from_json(cls, entry: Mapping[str, Any], columns: tuple[int, int],
                  cuts: Any = None) -> "Outcome":
        return cls(name=entry["outcome"], task=entry["task"], columns=columns, labels=entry.get("labels"),
                   level_values=entry.get("level_values"), target_mean=entry.get("target_mean"),
                   target_sd=entry.get("target_sd"), ordinal_head=entry.get("ordinal_head"),
                   ordinal_cuts=cuts, calibration=entry.get("calibration"), threshold=entry.get("threshold"))


def _list(values: tuple | None) -> list | None:
    return None if values is None else list(values)


@dataclass(frozen=True)
class Description:
    """A bundle's ``bundle.json``: the scoring contract, typed, and the fit's reports."""

    text: str
    outcomes: tuple[Outcome, ...]
    max_length: int
    pad_token_id: int = 0
    base_model: str | None = None
    stride: int | None = None  # long texts: windows every stride tokens; None: truncated
    code_calibration: Mapping[str, Any] | None = None  # several codes per text: conformal scores for code sets
    metrics: tuple[Mapping[str, Any], ...] = ()
    metrics_precision: str | None = None
    onnx: Mapping[str, Any] = field(default_factory=_frozen)  # files per precision, fused operators
    parity: Mapping[str, Any] = field(default_factory=_frozen)
    files: Mapping[str, str] = field(default_factory=_frozen)  # sha256 of every other file
    training: Mapping[str, Any] = field(default_factory=_frozen)
    evaluation: Mapping[str, Any] = field(default_factory=_frozen)
    manifest: Mapping[str, Any] = field(default_factory=_frozen)
    card: Mapping[str, Any] = field(default_factory=_frozen)
    data: Mapping[str, Any] = field(default_factory=_frozen)
    encoder: Mapping[str, Any] = field(default_factory=_frozen)
    n: Mapping[str, Any] = field(default_factory=_frozen)
    shift: Mapping[str, Any] = field(default_factory=_frozen)
    manifest_sha256: str | None = None
    format_version: int = FORMAT_VERSION
    unknown: Mapping[str, Any] = field(default_factory=_frozen)  # keys a newer writer added

    def __post_init__(self):
        if not self.outcomes:
            raise ValueError("a bundle description needs at least one outcome")
        for name in _RECORDS + ("unknown",):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "metrics", tuple(MappingProxyType(dict(m)) for m in self.metrics))
        if self.code_calibration is not None:
            object.__setattr__(self, "code_calibration", _frozen(self.code_calibration))

    @property
    def several(self) -> bool:
        return len(self.outcomes) > 1

    @property
    def task(self) -> str:
        """The outcomes' task (several outcomes share one)."""
        return self.outcomes[0].task

    @property
    def labels(self) -> list[str] | None:
        """The one outcome's classes or levels (``None`` for several outcomes or a rating)."""
        return None if self.several else _list(self.outcomes[0].labels)

    @property
    def outcome(self) -> str | list[str]:
        """The outcome's column name, or the list of them."""
        return [o.name for o in self.outcomes] if self.several else self.outcomes[0].name

    @property
    def num_outputs(self) -> int:
        return self.outcomes[-1].columns[1]

    def but(self, **changes: Any) -> "Description":
        """A copy with ``changes`` (the description itself never changes)."""
        return dataclasses.replace(self, **changes)

    def view(self, outcome: Outcome) -> "Description":
        """The description of one outcome's scores alone (its block as columns 0...)."""
        return self.but(outcomes=(dataclasses.replace(outcome, columns=(0, outcome.width)),))

    def to_json(self) -> dict[str, Any]:
        """The ``bundle.json`` dictionary (format 1's flat layout)."""
        out: dict[str, Any] = dict(self.unknown)
        out.update({name: _plain(getattr(self, name)) for name in _RECORDS})
        out.update(format_version=self.format_version, text=self.text, max_length=self.max_length,
                   pad_token_id=self.pad_token_id, base_model=self.base_model,
                   metrics=[dict(m) for m in self.metrics], metrics_precision=self.metrics_precision)
        optional = {"manifest_sha256": self.manifest_sha256, "stride": self.stride,  # absent: none
                    "code_calibration": _plain(self.code_calibration)}
        out.update({k: v for k, v in optional.items() if v is not None})
        return dict(out, **(self._several_json() if self.several else self._one_json()))

    def _one_json(self) -> dict[str, Any]:
        one = self.outcomes[0].to_json()
        out = {k: one[k] for k in _OWN if k != "calibration"}
        if one["calibration"] is not None:
            out["calibration"] = one["calibration"]
        return dict(out, ordinal_cuts=_list(self.outcomes[0].ordinal_cuts))

    def _several_json(self) -> dict[str, Any]:
        scaled = self.task == "regression"
        return {"task": self.task, "outcome": self.outcome, "labels": None, "level_values": None,
                "target_mean": [o.target_mean for o in self.outcomes] if scaled else None,
                "target_sd": [o.target_sd for o in self.outcomes] if scaled else None,
                "ordinal_head": None, "ordinal_cuts": None, "num_outputs": self.num_outputs,
                "outcomes": [o.to_json() for o in self.outcomes]}

    @classmethod
    def from_json(cls, meta: Mapping[str, Any]) -> "Description":
        """Read a ``bundle.json`` dictionary (checked for its required keys by the reader)."""
        entries = meta.get("outcomes")
        if entries:
            outcomes = tuple(Outcome.from_json(e, e["columns"]) for e in entries)
        else:
            outcomes = (Outcome.from_json(meta, (0, meta["num_outputs"]), meta.get("ordinal_cuts")),)
        known = set(_OWN) | set(_RECORDS) | set(_OTHER_KEYS)
        return cls(text=meta["text"], outcomes=outcomes, max_length=meta["max_length"],
                   pad_token_id=meta.get("pad_token_id", 0), base_model=meta.get("base_model"),
                   stride=meta.get("stride"), code_calibration=meta.get("code_calibration"),
                   metrics=tuple(meta.get("metrics") or ()), metrics_precision=meta.get("metrics_precision"),
                   manifest_sha256=meta.get("manifest_sha256"),
                   format_version=meta.get("format_version", FORMAT_VERSION),
                   unknown={k: v for k, v in meta.items() if k not in known},
                   **{name: meta.get(name) for name in _RECORDS})


def _plain(value: Any) -> Any:
    """Read-only mappings and tuples back to the dicts and lists JSON writes."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
