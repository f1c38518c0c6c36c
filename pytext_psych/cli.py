"""Command line: ``pytext-psych fit | predict | info | report | curve``, a thin layer over the
public API."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from .bundle import BundleError, bundle_digest
from .config import STRATEGIES
from .fit import fit_text_model

_DEFAULTS = {k: p.default for k, p in inspect.signature(fit_text_model).parameters.items()}


def _fit(args: argparse.Namespace) -> None:
    fit = fit_text_model(
        args.data, text=args.text, outcome=args.outcome, task=args.task, model=args.model,
        epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
        max_length=args.max_length, patience=args.patience, strategy=args.strategy,
        freeze_layers=args.freeze_layers, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
        class_weights=args.class_weights, grad_accumulation=args.grad_accumulation,
        domain_texts=args.domain_texts, cv=args.cv, group=args.group,
        baseline=not args.no_baseline, seed=args.seed, output_dir=args.out,
        overwrite=args.overwrite, progress=not args.quiet,
    )
    print(fit)
    print()
    print(fit.report())


def _predict(args: argparse.Namespace) -> None:
    from .infer import predict_scores

    result = predict_scores(args.model, args.data, text=args.text, precision=args.precision,
                            out=args.out, overwrite=args.overwrite, threads=args.threads,
                            progress=not args.quiet, interval=args.interval)
    if args.out:
        print(f"wrote {args.out}")
    else:
        result.to_csv(sys.stdout, index=False)


def parity_table(meta: dict) -> pd.DataFrame:
    """The bundle's parity report (each ONNX precision vs PyTorch fp32) as a table."""
    parity = meta["parity"]
    rows = []
    for precision in meta["onnx"]["files"]:
        entry = parity[precision]
        agreement = entry.get("agreement", entry.get("score_correlation"))
        rows.append({"precision": precision, "max_abs_diff": entry["max_abs_diff"],
                     "agreement" if meta["task"] == "classification" else "score_r": agreement,
                     "metric": entry["metric"], "delta_vs_pytorch": entry["delta_metric"],
                     "recommended": entry["recommended"]})
    return pd.DataFrame(rows)


def _info(args: argparse.Namespace) -> None:
    from .infer import load_model

    model = load_model(args.model, digest=args.digest)
    meta = model.meta
    print(model)
    print(f"  files verified: {len(meta['files'])} (sha256)"
          + (" and the bundle matches the expected digest" if args.digest else ""))
    print(f"  bundle digest: sha256:{bundle_digest(args.model)} (publish it; check a copy "
          "with --digest)")
    print("  n: " + ", ".join(f"{k} {v}" for k, v in meta["n"].items()))
    t = meta["training"]
    print(f"  training: {t.get('strategy', 'full')}, lr {t['learning_rate']}, batch {t['batch_size']}, "
          f"epochs {len(t['history'])}/{t['epochs']} (best {t['best_epoch']}), seed {t['seed']}")
    parity = meta["parity"]
    print(f"\nONNX parity vs PyTorch fp32 on the {parity['split']} split (n = {parity['n']}; "
          f"PyTorch {'macro F1' if model.task == 'classification' else 'r'} = "
          f"{parity['metric_pytorch']:.4f}; threshold {parity['threshold']}):")
    print(parity_table(meta).to_string(index=False))
    fused = meta["onnx"].get("fused")
    if fused is not None:  # bundles from before this record have none
        print("fused by onnxruntime's optimiser: " + (
            ", ".join(f"{op} x{n}" for op, n in fused.items()) or "nothing (slower scoring)"))
    print(f"\nTest metrics (scored with {meta['metrics_precision']}):")
    print(pd.DataFrame(meta["metrics"]).to_string(index=False))


def _report(args: argparse.Namespace) -> None:
    from .fit import TextModelFit

    fit = TextModelFit.from_bundle(args.model)
    report = fit.report()
    print(report)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(report.to_markdown())
        (out / "report.html").write_text(report.to_html())
        fit.plot(out / "figures.png")
        print(f"\nwrote {out / 'report.md'}, {out / 'report.html'}, {out / 'figures.png'}")


def _curve(args: argparse.Namespace) -> None:
    from .curve import learning_curve

    sizes = [s if s == "full" else int(s) for s in args.sizes]
    curve = learning_curve(
        args.data, text=args.text, outcome=args.outcome, sizes=sizes, repeats=args.repeats,
        test=args.test, epochs=args.epochs, max_length=args.max_length, seed=args.seed,
        output_dir=args.out, progress=not args.quiet,
    )
    print(curve.summary().to_string(index=False))
    if args.target is not None:
        need = curve.n_needed(args.target)
        print(f"\nlabelled texts needed for {need['metric']} = {args.target}: about "
              f"{need['n_train']:.0f} ({need['ci_level']:.0%} CI {need['conf_low']:.0f} to "
              f"{need['conf_high']:.0f}). {need['caveat']}".rstrip())
    if args.out:
        curve.plot(Path(args.out) / "learning_curve.png",
                   targets=[args.target] if args.target is not None else [])
        print(f"\nwrote {Path(args.out) / 'runs.jsonl'} and {Path(args.out) / 'learning_curve.png'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytext-psych",
        description="Fine-tune a language model on labelled texts and score new texts.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fine-tune a model and write a model bundle")
    fit.add_argument("data", help="CSV, TSV or Parquet file with texts and outcomes")
    fit.add_argument("--text", required=True, help="text column")
    fit.add_argument("--outcome", required=True, help="outcome column")
    fit.add_argument("--out", help="bundle folder to write (default: a new folder here)")
    fit.add_argument("--task", default=_DEFAULTS["task"], choices=["auto", "classification", "regression"])
    fit.add_argument("--model", default=_DEFAULTS["model"], help="'default', a model name or folder")
    fit.add_argument("--epochs", type=int, default=_DEFAULTS["epochs"])
    fit.add_argument("--learning-rate", type=float, default=_DEFAULTS["learning_rate"])
    fit.add_argument("--batch-size", type=int, default=_DEFAULTS["batch_size"])
    fit.add_argument("--max-length", type=int, default=_DEFAULTS["max_length"])
    fit.add_argument("--patience", type=int, default=_DEFAULTS["patience"])
    fit.add_argument("--strategy", default=_DEFAULTS["strategy"], choices=list(STRATEGIES))
    fit.add_argument("--freeze-layers", type=lambda v: v if v == "all" else int(v),
                     default=_DEFAULTS["freeze_layers"], help="a number of layers, or 'all'")
    fit.add_argument("--lora-r", type=int, default=_DEFAULTS["lora_r"])
    fit.add_argument("--lora-alpha", type=int, default=_DEFAULTS["lora_alpha"])
    fit.add_argument("--class-weights", action="store_true", help="inverse-frequency class weights")
    fit.add_argument("--grad-accumulation", type=int, default=_DEFAULTS["grad_accumulation"])
    fit.add_argument("--domain-texts", help="column or text file of unlabelled texts for "
                     "domain-adaptive pretraining")
    fit.add_argument("--seed", type=int, default=_DEFAULTS["seed"])
    fit.add_argument("--cv", type=int, default=_DEFAULTS["cv"], help="k-fold cross-validation")
    fit.add_argument("--group", default=_DEFAULTS["group"], help="column of group (participant) ids")
    fit.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF baseline")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(run=_fit)

    predict = sub.add_parser("predict", help="score texts with a model bundle")
    predict.add_argument("model", help="model bundle folder")
    predict.add_argument("data", help="CSV, TSV or Parquet file with texts")
    predict.add_argument("--text", required=True, help="text column")
    predict.add_argument("--out", help=".csv or .parquet file to write (default: standard output)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    predict.add_argument("--threads", type=int, help="texts scored in parallel (default: all cores)")
    predict.add_argument("--precision", default="auto", choices=["auto", "fp32", "int8"])
    predict.add_argument("--interval", type=float, help="conformal coverage, e.g. 0.9")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(run=_predict)

    info = sub.add_parser("info", help="verify a model bundle and describe it")
    info.add_argument("model", help="model bundle folder")
    info.add_argument("--digest", help="the bundle's published digest: refuse a bundle that differs")
    info.set_defaults(run=_info)

    curve = sub.add_parser("curve", help="learning curve: metric by number of labelled texts")
    curve.add_argument("data", help="CSV, TSV or Parquet file with texts and outcomes")
    curve.add_argument("--text", required=True, help="text column")
    curve.add_argument("--outcome", required=True, help="outcome column")
    curve.add_argument("--sizes", nargs="+", default=["100", "250", "500", "1000"],
                       help="training sizes; 'full' for all texts outside the test set")
    curve.add_argument("--repeats", type=int, default=3)
    curve.add_argument("--test", type=float, default=0.25, help="share held out as the test set")
    curve.add_argument("--epochs", type=int, default=_DEFAULTS["epochs"])
    curve.add_argument("--max-length", type=int, default=_DEFAULTS["max_length"])
    curve.add_argument("--seed", type=int, default=_DEFAULTS["seed"])
    curve.add_argument("--target", type=float, help="metric to reach, e.g. 0.6: how many texts?")
    curve.add_argument("--out", help="folder for runs.jsonl (resumable) and learning_curve.png")
    curve.add_argument("--quiet", action="store_true", help="no progress bar")
    curve.set_defaults(run=_curve)

    report = sub.add_parser("report", help="APA-style report and figures from a model bundle")
    report.add_argument("model", help="model bundle folder")
    report.add_argument("--out", help="folder for report.md, report.html and figures.png")
    report.set_defaults(run=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError, OSError, ImportError, BundleError) as err:
        # user-facing problems (bad input, files, missing extras): one line, no traceback
        print(f"pytext-psych: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pytext-psych: interrupted; nothing was written under the output name",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
