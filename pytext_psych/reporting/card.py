"""A model card in every bundle (``model_card.md``, its data in bundle.json under "card"
and the rest of bundle.json): what the model is, what it was trained on, how it was split
and how well it measures, against what, at which precision, with which versions; and the
intended use and limitations, for the researcher to state (:func:`model_card`). Modelled
on Hugging Face model cards and the fields the R package `text` records for its models.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..core.description import Description
from ..core.settings import AUTO_RULE
from ..scoring.bundle import read_bundle, reserve_bundle, seal

CARD = "model_card.md"
TO_FILL = "(not stated yet: add it with model_card(path, {field}=...))"


def model_license(folder: str | Path | None) -> str:
    """The license a model folder's README.md declares (Hugging Face front matter)."""
    readme = Path(folder) / "README.md" if folder is not None else None
    if readme is None or not readme.is_file():
        return "unknown (see the model's own page)"
    found = re.search(r"^license:\s*(\S+)", readme.read_text(errors="replace")[:4000], re.M)
    return found.group(1) if found else "unknown (see the model's own page)"


def data_summary(y: np.ndarray, labels: list[str] | None, texts: list[str]) -> dict[str, Any]:
    """Outcome distribution (class counts, or mean / SD / range) and text length in words."""
    words = np.array([len(t.split()) for t in texts])
    q1, median, q3 = np.percentile(words, [25, 50, 75])
    out: dict[str, Any] = {"n": len(texts), "words": {"median": float(median), "q1": float(q1),
                                                       "q3": float(q3), "max": int(words.max())}}
    if labels is not None:
        out["classes"] = {label: int((y == k).sum()) for k, label in enumerate(labels)}
    else:
        out["rating"] = {"mean": float(y.mean()), "sd": float(y.std(ddof=1)),
                         "min": float(y.min()), "max": float(y.max())}
    return out


def long_texts(lengths: np.ndarray, max_length: int, stride: int | None) -> dict[str, Any]:
    """How long the texts are in the encoder's tokens, how many are longer than
    ``max_length`` and how those were read (windows every ``stride`` tokens, or truncated).

    >>> long_texts(np.array([10, 40, 300]), 256, None)["policy"]
    'truncated: the model read their first 256 tokens'
    >>> long_texts(np.array([10, 40, 300]), 256, 127)
    {'max_length': 256, 'median': 40.0, 'longest': 300, 'longer': 1, 'stride': 127, 'policy': 'read in windows of 256 tokens every 127, their outputs averaged'}
    """
    policy = (f"truncated: the model read their first {max_length} tokens" if stride is None else
              f"read in windows of {max_length} tokens every {stride}, their outputs averaged")
    return {"max_length": int(max_length), "median": float(np.median(lengths)), "longest": int(lengths.max()),
            "longer": int((lengths > max_length).sum()), "stride": stride, "policy": policy}


HEADS = {"clm": "cumulative-link", "corn": "CORN"}


def render(d: Description) -> str:
    """The card's Markdown, from a bundle's description."""
    t, card, versions = d.training, d.card, d.manifest["versions"]
    lines = [f"# Model card: {', '.join(o.name for o in d.outcomes)} from {d.text}", "",
             f"Made with pytext-psych {versions.get('pytext-psych')} on {d.manifest['created'][:10]}.", "",
             "## Model", "", f"- Task: {_task(d)}",
             f"- Base model: {d.base_model} (license: {card.get('license', 'unknown')})",
             *_encoder_lines(d.encoder),
             f"- Fine-tuning: strategy {t['strategy']}{_auto(t)}, learning rate {t['learning_rate']:g}, up to "
             f"{t['epochs']} epochs (best: {t['best_epoch']}), batch {t['batch_size']}, "
             f"{d.max_length} tokens, seed {t['seed']}{_arithmetic(t)}", "",
             "## Training data", "", *_data_lines(d), "", "## Evaluation", "", *_evaluation_lines(d.evaluation),
             "", "## Scoring", "", *_parity_lines(d.parity), "",
             "## Intended use", "", card.get("intended_use") or TO_FILL.format(field="intended_use"), "",
             "## Limitations", "", card.get("limitations") or TO_FILL.format(field="limitations"), "",
             "## Versions", "", ", ".join(f"{k} {v}" for k, v in sorted(versions.items())), ""]
    return "\n".join(lines)


def _task(d: Description) -> str:
    """The task in words."""
    if d.several:
        return f"{d.task} of {len(d.outcomes)} outcomes in one model (one encoder, a head each)"
    one = d.outcomes[0]
    if one.task == "classification":
        return "classification into " + ", ".join(one.labels)
    if one.task == "ordinal":
        return (f"ordinal rating with the levels {', '.join(one.labels)} "
                f"({HEADS.get(one.ordinal_head, 'ordinal')} head)")
    return "rating (regression)"


def _encoder_lines(encoder: Mapping[str, Any]) -> list[str]:
    """The encoder's revision and weights digest, for bundles that record them."""
    if not encoder or not encoder.get("weights_sha256"):
        return []
    revision = f"revision {encoder['revision']}, " if encoder.get("revision") else ""
    return [f"- Encoder weights: {revision}sha256 {encoder['weights_sha256']}"]


def _arithmetic(training: Mapping[str, Any]) -> str:
    """The arithmetic ``mixed_precision`` became, for bundles that record it."""
    if "arithmetic" not in training:
        return ""
    return f", {training['arithmetic']} arithmetic (mixed_precision '{training['mixed_precision']}')"


def _auto(training: Mapping[str, Any]) -> str:
    """The rule ``strategy="auto"`` applied, for bundles that record it."""
    if training.get("strategy_requested") != "auto":
        return ""
    return f" (chosen by strategy 'auto': {AUTO_RULE})"


def _data_lines(d: Description) -> list[str]:
    data, t, n = d.data, d.training, d.n
    design = (f"{t['cv']}-fold cross-validation" if t.get("cv") else
              "hold-out split " + " / ".join(f"{s:g}" for s in t["split"]) + " (train / dev / test)")
    lines = [f"- {data.get('n', sum(n.values()))} texts; {design}"
             + (f", grouped by '{t['group']}'" if t.get("group") else "")
             + "; " + ", ".join(f"{k} {v}" for k, v in n.items())]
    for name, one in (data.get("outcomes") or {"": data}).items():
        lines += _outcome_lines(one, f"{name}: " if name else "")
    if "words" in data:
        w = data["words"]
        lines.append(f"- Text length: median {w['median']:g} words (IQR {w['q1']:g} to {w['q3']:g}), "
                     f"longest {w['max']}")
    if "tokens" in data:
        k = data["tokens"]
        lines.append(f"- In the encoder's tokens: median {k['median']:g}, longest {k['longest']}; "
                     f"{k['longer']} of {data['n']} texts longer than {k['max_length']} tokens ({k['policy']})")
    return lines


def _outcome_lines(data: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    if data.get("classes"):
        total = sum(data["classes"].values())
        lines.append(f"- {prefix}Classes: " + ", ".join(f"{k} {v} ({v / total:.0%})"
                                                     for k, v in data["classes"].items()))
    if data.get("rating"):
        r = data["rating"]
        lines.append(f"- {prefix}Rating: mean {r['mean']:.2f}, SD {r['sd']:.2f}, range {r['min']:g} to {r['max']:g}")
    return lines


def _evaluation_lines(ev: Mapping[str, Any]) -> list[str]:

    def name(m: dict) -> str:
        return f"{m['outcome']} {m['metric']}" if "outcome" in m else m["metric"]

    base = {(m.get("baseline", "baseline"), name(m)): m["estimate"] for m in ev.get("baseline_metrics") or []}
    columns = list(dict.fromkeys(b for b, _ in base))
    rows = ["| metric | estimate | CI |" + "".join(f" {b} |" for b in columns),
            "|---|---|---|" + "---|" * len(columns)]
    rows += [f"| {name(m)} | {m['estimate']:.3f} | [{m['conf_low']:.3f}, {m['conf_high']:.3f}] |"
             + "".join(f" {base[(b, name(m))]:.3f} |" if (b, name(m)) in base else " |" for b in columns)
             for m in ev["metrics"]]
    baselines = ev.get("baseline") or {}
    if isinstance(baselines, str):  # bundles from before the embedding baseline
        baselines = {"tfidf": baselines}
    out = [f"Test cases: {ev['metrics'][0]['n']}; {ev['metrics'][0]['ci_level']:.0%} bootstrap CIs. "
           "Baselines: " + ("; ".join(f"{k}: {v}" for k, v in baselines.items()) or "none") + ".", "", *rows]
    for c in ev.get("comparison") or []:
        out.append(f"- Fine-tuned minus {c.get('baseline', 'baseline')}, {name(c)}: {c['estimate']:+.3f} "
                   f"[{c['conf_low']:+.3f}, {c['conf_high']:+.3f}], p = {c['p_value']:.3g}")
    for a in ev.get("agreement") or []:
        out.append(f"- Agreement with the human coding, {name(a)}: {a['estimate']:.3f} "
                   f"[{a['conf_low']:.3f}, {a['conf_high']:.3f}]")
    return out


def _parity_lines(parity: Mapping[str, Any]) -> list[str]:
    lines = [f"- {p}: {v['metric']:.3f} vs PyTorch {parity.get('metric_pytorch', float('nan')):.3f} "
             f"on {parity.get('n')} {parity.get('split', '')} texts"
             f"{' (recommended)' if v.get('recommended') else ''}"
             for p, v in parity.items() if isinstance(v, dict) and "metric" in v]
    return lines or ["- no parity report"]


def model_card(path: str | Path, *, intended_use: str | None = None,
               limitations: str | None = None) -> str:
    """A bundle's model card (Markdown). With ``intended_use`` / ``limitations``, state
    them in the bundle: the card and bundle.json are rewritten and the bundle resealed
    (its digest changes, so publish the new one), atomically, like any bundle.

    Examples
    --------
    >>> print(model_card("my_model/"))                                       # doctest: +SKIP
    >>> model_card("my_model/", intended_use="Research on worry in adults; not for "
    ...            "individual diagnosis.", limitations="English only.")     # doctest: +SKIP
    """
    described = read_bundle(path)
    if intended_use is None and limitations is None:
        return (Path(path) / CARD).read_text() if (Path(path) / CARD).is_file() else render(described)
    for name, value in (("intended_use", intended_use), ("limitations", limitations)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    card = dict(described.card, **{k: v.strip() for k, v in
                                   (("intended_use", intended_use), ("limitations", limitations)) if v})
    files = list(described.files)  # verified above: read and hash the bundle once
    described = described.but(card=card)
    with reserve_bundle(path, overwrite=True) as slot:
        with slot.staged() as stage:
            for name in files:
                (stage / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(path) / name, stage / name)
            (stage / CARD).write_text(render(described))
            seal(stage, described)
    return (Path(path) / CARD).read_text()

