"""Command line: ``pytext-psych fit | predict | info``, a thin layer over the public API."""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Sequence

import pandas as pd

from .bundle import BundleError
from .data import read_data
from .fit import fit_text_model

_DEFAULTS = {k: p.default for k, p in inspect.signature(fit_text_model).parameters.items()}


def _fit(args: argparse.Namespace) -> None:
    fit = fit_text_model(
        args.data, text=args.text, outcome=args.outcome, task=args.task, model=args.model,
        epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
        max_length=args.max_length, patience=args.patience, seed=args.seed,
        output_dir=args.out, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(fit)


def _predict(args: argparse.Namespace) -> None:
    from .infer import load_model, predict_scores

    model = load_model(args.model)
    df = read_data(args.data)
    scores = predict_scores(model, df, text=args.text, batch_size=args.batch_size)
    result = pd.concat([df.drop(columns=[args.text]), scores], axis=1) if args.keep_columns else scores
    if args.out:
        result.to_csv(args.out, index=False)
        print(f"wrote {len(result)} rows to {args.out}")
    else:
        result.to_csv(sys.stdout, index=False)


def _info(args: argparse.Namespace) -> None:
    from .infer import load_model

    model = load_model(args.model)
    meta = model.meta
    print(model)
    print(f"  files verified: {len(meta['files'])} (sha256)")
    print(f"  n train/dev/test: {meta['n']['train']}/{meta['n']['dev']}/{meta['n']['test']}")
    t = meta["training"]
    print(f"  training: lr {t['learning_rate']}, batch {t['batch_size']}, "
          f"epochs {len(t['history'])}/{t['epochs']} (best {t['best_epoch']}), seed {t['seed']}")
    print(f"  ONNX vs PyTorch max abs diff: {meta['onnx']['max_abs_diff_vs_pytorch']:.2e}")
    print(pd.DataFrame(meta["metrics"]).to_string(index=False))


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
    fit.add_argument("--seed", type=int, default=_DEFAULTS["seed"])
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(run=_fit)

    predict = sub.add_parser("predict", help="score texts with a model bundle")
    predict.add_argument("model", help="model bundle folder")
    predict.add_argument("data", help="CSV, TSV or Parquet file with texts")
    predict.add_argument("--text", required=True, help="text column")
    predict.add_argument("--out", help="CSV file to write (default: standard output)")
    predict.add_argument("--batch-size", type=int, default=64)
    predict.add_argument("--keep-columns", action="store_true",
                         help="copy the input's other columns into the output")
    predict.set_defaults(run=_predict)

    info = sub.add_parser("info", help="verify a model bundle and describe it")
    info.add_argument("model", help="model bundle folder")
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError, BundleError) as err:
        print(f"pytext-psych: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
