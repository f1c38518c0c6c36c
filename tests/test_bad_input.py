"""The bad-input matrix: every case gets a clear error before any training or scoring.

Each row of ``CASES`` is one mistake a user can make (data, arguments, files, texts,
outcomes, bundles, output locations) and the error it must get. The test runs each one
with model loading forbidden (so an error "before training" really is before), checks
the exception type and message, that the message is short enough to read, and that
nothing was written. ``docs/bad_input.md`` is generated from the same table with the
messages the package really prints (``python tests/test_bad_input.py``), and a test
checks that the file is up to date.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from pytext_psych import BundleError, fit_text_model, load_model, predict_scores, write_scores
from pytext_psych.cli import main as cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"


@dataclass
class Ctx:
    """What a case can use: a small valid data frame, a scratch folder, a real bundle."""

    df: pd.DataFrame
    tmp: Path
    bundle: Path

    def fit(self, data=None, **kw):
        args = dict(text="text", outcome="label", output_dir=self.tmp / "out", progress=False)
        return fit_text_model(self.df if data is None else data, **{**args, **kw})

    def copy_bundle(self) -> Path:
        copy = self.tmp / "bundle_copy"
        shutil.copytree(self.bundle, copy)
        return copy

    def csv(self, content: bytes | str, name: str = "data.csv") -> Path:
        path = self.tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


@dataclass
class Case:
    area: str
    case: str
    call: Callable[[Ctx], Any]
    error: type
    match: str


def _edit_bundle(ctx: Ctx, edit: Callable[[dict], None]) -> Path:
    copy = ctx.copy_bundle()
    meta = json.loads((copy / "bundle.json").read_text())
    edit(meta)
    (copy / "bundle.json").write_text(json.dumps(meta))
    return copy


def _symlinked(ctx: Ctx) -> Path:
    copy = ctx.copy_bundle()
    (copy / "tokenizer.json").rename(ctx.tmp / "elsewhere.json")
    os.symlink(ctx.tmp / "elsewhere.json", copy / "tokenizer.json")
    return copy


def _user_folder(ctx: Ctx) -> Path:
    (ctx.tmp / "mine").mkdir()
    (ctx.tmp / "mine" / "thesis.docx").write_text("precious")
    return ctx.tmp / "mine"


def _locked(ctx: Ctx) -> Path:
    """An output folder another (live) process is writing: its lock file names it."""
    target = ctx.tmp / "out"
    (ctx.tmp / ".out.pytext-psych.lock").write_text(json.dumps(
        {"pid": 1, "host": __import__("socket").gethostname(), "since": "2026-11-27T09:00:00"}))
    return target


def _latin1(ctx: Ctx) -> Path:
    text = "text,label\n" + "caf\xe9 au lait,pos\nd\xe9j\xe0 vu,neg\n" * 6
    return ctx.csv(text.encode("latin-1"), "latin1.csv")


_A = "a longer answer about work and money " * 50

CASES = [
    # --- data ------------------------------------------------------------------------
    Case("data", "data is not a data frame or path", lambda c: c.fit([1, 2]), TypeError, "DataFrame or a path"),
    Case("data", "text column missing", lambda c: c.fit(text="answer"), ValueError,
         r"column\(s\) 'answer' not found.*available columns: 'text', 'label', 'score'"),
    Case("data", "no rows", lambda c: c.fit(c.df.iloc[:0]), ValueError, "data has 0 row"),
    Case("data", "3 rows", lambda c: c.fit(c.df.iloc[:3]), ValueError, "at least 10 labelled texts"),
    Case("data", "duplicate row ids (index)", lambda c: c.fit(c.df.set_axis([0, 0] + list(range(2, 24)))),
         ValueError, r"row ids \(index\) repeat \(0\)"),
    Case("data", "text and outcome are the same column", lambda c: c.fit(outcome="text"), ValueError,
         "both name the column 'text'"),
    Case("data", "free text passed as outcome", lambda c: c.fit(c.df.assign(long=[_A + str(i) for i in range(24)]),
                                                                 outcome="long"),
         ValueError, "24 class.*fewer than 2 examples"),
    # --- texts -----------------------------------------------------------------------
    Case("texts", "missing and empty texts", lambda c: c.fit(c.df.assign(text=[None, ""] + list(c.df.text[2:]))),
         ValueError, r"1 missing and 1 empty text\(s\) \(rows 0, 1\)"),
    Case("texts", "text of only zero-width characters",
         lambda c: c.fit(c.df.assign(text=["\u200b\u200d\ufeff"] + list(c.df.text[1:]))),
         ValueError, r"0 missing and 1 empty text\(s\) \(rows 0\)"),
    Case("texts", "bytes in the text column", lambda c: c.fit(c.df.assign(text=[b"bytes"] + list(c.df.text[1:]))),
         ValueError, r"1 value\(s\) that are not text \(bytes; rows 0"),
    Case("texts", "lists in the text column",
         lambda c: c.fit(c.df.assign(text=[["a", "b"], [["x"]]] + list(c.df.text[2:]))),
         ValueError, r"2 value\(s\) that are not text \(list; rows 0, 1"),
    Case("texts", "numbers as the text column", lambda c: c.fit(text="score"), ValueError,
         r"not text \(float"),
    Case("texts", "lone surrogate character",
         lambda c: c.fit(c.df.assign(text=pd.Series(["bad \ud800"] + list(c.df.text[1:]), dtype=object))),
         ValueError, r"not valid Unicode \(lone surrogate characters; rows 0\)"),
    # --- outcomes --------------------------------------------------------------------
    Case("outcome", "missing outcome values", lambda c: c.fit(c.df.assign(label=[np.nan] + list(c.df.label[1:]))),
         ValueError, r"'label' has 1 missing value\(s\) \(rows 0\)"),
    Case("outcome", "only one class", lambda c: c.fit(c.df.assign(label="pos")), ValueError, "only one class"),
    Case("outcome", "a class with one example", lambda c: c.fit(c.df.assign(label=["rare"] + list(c.df.label[1:]))),
         ValueError, r"'rare'\) .*at least 2 per class|fewer than 2 examples \('rare'\)"),
    Case("outcome", "regression of a text outcome", lambda c: c.fit(task="regression"), ValueError,
         r"task='regression' needs a numeric outcome.*'pos'"),
    Case("outcome", "several outcomes mixing ratings and classes", lambda c: c.fit(outcome=["label", "score"]),
         ValueError, r"the outcomes mix ratings and classes \(label: classification, score: regression\)"),
    Case("outcome", "an outcome listed twice", lambda c: c.fit(outcome=["score", "score"]), ValueError,
         "outcome names the column.s. 'score' more than once"),
    Case("outcome", "several ordinal outcomes", lambda c: c.fit(outcome=["score", "score2"], task="ordinal",
                                                                data=c.df.assign(score2=c.df.score)),
         ValueError, "several ordinal outcomes in one model are not supported yet"),
    Case("outcome", "contrastive strategy on an ordinal outcome",
         lambda c: c.fit(c.df.assign(level=[1, 2, 3] * 8), outcome="level", task="ordinal",
                         strategy="contrastive"), ValueError,
         "strategy='contrastive' refits the head as a linear model"),
    Case("outcome", "constant rating", lambda c: c.fit(c.df.assign(score=1.0), outcome="score"), ValueError, "constant"),
    Case("outcome", "rating of inf", lambda c: c.fit(c.df.assign(score=[np.inf] + list(c.df.score[1:])), outcome="score"),
         ValueError, r"infinite or extremely large values \(rows 0\)"),
    Case("outcome", "rating of -inf", lambda c: c.fit(c.df.assign(score=[-np.inf] + list(c.df.score[1:])), outcome="score"),
         ValueError, r"infinite or extremely large values \(rows 0\)"),
    Case("outcome", "rating of 1e308", lambda c: c.fit(c.df.assign(score=[1e308] + list(c.df.score[1:])), outcome="score"),
         ValueError, r"infinite or extremely large values \(rows 0\)"),
    # --- arguments -------------------------------------------------------------------
    Case("arguments", "epochs=0", lambda c: c.fit(epochs=0), ValueError, r"epochs=0 \(a whole number of at least 1\)"),
    Case("arguments", "epochs=1.5", lambda c: c.fit(epochs=1.5), ValueError, r"epochs=1.5 \(a whole number"),
    Case("arguments", 'epochs="3"', lambda c: c.fit(epochs="3"), ValueError, r"epochs='3' \(a whole number"),
    Case("arguments", "learning_rate=-1", lambda c: c.fit(learning_rate=-1.0), ValueError, "learning_rate=-1.0"),
    Case("arguments", "learning_rate=inf", lambda c: c.fit(learning_rate=float("inf")), ValueError, "learning_rate=inf"),
    Case("arguments", "seed=None", lambda c: c.fit(seed=None), ValueError, r"seed=None \(a whole number from 0"),
    Case("arguments", "seed=-1", lambda c: c.fit(seed=-1), ValueError, "seed=-1"),
    Case("arguments", "max_length=4", lambda c: c.fit(max_length=4), ValueError, "max_length=4"),
    Case("arguments", "max_length above the model's limit", lambda c: c.fit(max_length=1000), ValueError,
         r"max_length=1000 is more than model 'default' can read \(512 tokens\)"),
    Case("arguments", "strategy unknown", lambda c: c.fit(strategy="partial"), ValueError,
         "strategy='partial' .one of auto, full, freeze, gradual, lora, contrastive"),
    Case("arguments", "task unknown", lambda c: c.fit(task="clustering"), ValueError, "task must be one of"),
    Case("arguments", "split not summing to 1", lambda c: c.fit(split=(0.5, 0.5, 0.5)), ValueError,
         r"split=\(0.5, 0.5, 0.5\) \(three non-negative fractions summing to 1"),
    Case("arguments", "cv=1", lambda c: c.fit(cv=1), ValueError, r"cv=1 \(None or a whole number of at least 2\)"),
    Case("arguments", "ci_level=1.5", lambda c: c.fit(ci_level=1.5), ValueError, r"ci_level=1.5 \(a number between 0 and 1\)"),
    Case("arguments", "n_resamples=0", lambda c: c.fit(n_resamples=0), ValueError, r"n_resamples=0 \(a whole number of at least 10\)"),
    Case("arguments", "export unknown", lambda c: c.fit(export="int4"), ValueError,
         r"export='int4' \(one of both, fp32, int8, fp16, all\)"),
    Case("arguments", 'baseline="yes"', lambda c: c.fit(baseline="yes"), ValueError, r"baseline='yes' \(True or False\)"),
    Case("arguments", "mixed_precision unknown", lambda c: c.fit(mixed_precision="fp16"), ValueError,
         r"mixed_precision='fp16' \(one of auto, bf16, off\)"),
    Case("arguments", "group column missing", lambda c: c.fit(group="participant"), ValueError, "'participant' not found"),
    Case("codes", "a code given to too few texts",
         lambda c: c.fit(c.df.assign(codes=["a; b", "b"] * 11 + ["a; c", "a"]), outcome="codes", task="multilabel"),
         ValueError, r"1 code\(s\) are given to fewer than 3 texts: 'c' \(1\)"),
    Case("codes", "a code column that is not 0/1", lambda c: c.fit(outcome=["label", "score"], task="multilabel"),
         ValueError, r"code column 'label' holds values other than 0/1 or True/False \('pos', 'neg'"),
    Case("persons", "person column with missing ids", lambda c: c.fit(c.df.assign(who=[None] + [1, 2, 3] * 7 + [4, 4]),
                                                                      person="who"),
         ValueError, r"person column 'who' has 1 missing value\(s\) \(rows 0\); every text needs its person"),
    Case("persons", "outcome differs within a person", lambda c: c.fit(c.df.assign(who=np.arange(24) // 4),
                                                                       person="who"),
         ValueError, r"outcome 'label' differs between the texts of 6 of 6 persons in 'who' \(e.g. 0: 'pos', 'neg'\)"),
    Case("persons", "person and group name different columns",
         lambda c: c.fit(c.df.assign(who=np.arange(24) // 2), person="who", group="label"), ValueError,
         r"group='label' with person='who' \(a fit with persons is split by person; leave group out\)"),
    Case("persons", "scores per person with interval",
         lambda c: predict_scores(c.bundle, c.df.assign(who=1), text="text", person="who", interval=0.9), ValueError,
         "interval= is calibrated on single dev texts"),
    Case("persons", "scores per person of a list of texts",
         lambda c: predict_scores(c.bundle, ["a", "b"], person="who"), TypeError,
         "person= needs data with a column of person ids"),
    # --- models ----------------------------------------------------------------------
    Case("model", "hub name that cannot be reached offline", lambda c: c.fit(model="no/such-model"), ValueError,
         "model 'no/such-model' cannot be loaded: it is not a local model folder"),
    Case("model", "folder that is not a model", lambda c: c.fit(model=str(c.tmp)), ValueError,
         "is not a transformers model .it has no config.json"),
    Case("model", "baseline_model that is not a model", lambda c: c.fit(baseline_model=str(c.tmp)), ValueError,
         "is not a transformers model .it has no config.json"),
    Case("model", "baseline_model='auto'", lambda c: c.fit(baseline_model="auto"), ValueError,
         "model='auto' picks the encoder for a fit's data"),
    Case("model", "max_length above a named model's limit", lambda c: c.fit(model="mpnet-base", max_length=600),
         ValueError, r"max_length=600 is more than model 'mpnet-base' can read \(512 tokens\)"),
    # --- files -----------------------------------------------------------------------
    Case("files", "unknown file type", lambda c: c.fit(c.tmp / "data.xlsx"), ValueError, "expected a .csv, .tsv or .parquet"),
    Case("files", "file does not exist", lambda c: c.fit(c.tmp / "missing.csv"), FileNotFoundError, "does not exist"),
    Case("files", "empty CSV file", lambda c: c.fit(c.csv("")), ValueError, "is empty"),
    Case("files", "Latin-1 CSV file", lambda c: c.fit(_latin1(c)), ValueError,
         r"is not UTF-8 text .*encoding='cp1252'"),
    Case("files", "Parquet without pyarrow", lambda c: _without_pyarrow(c), ImportError,
         r"pip install 'pytext-psych\[parquet\]'"),
    # --- output locations ------------------------------------------------------------
    Case("output", 'resume="yes" (a string, not True)', lambda c: c.fit(resume="yes"), ValueError,
         "resume='yes': must be True or False"),
    Case("output", "existing output_dir without overwrite", lambda c: c.fit(output_dir=_user_folder(c)),
         FileExistsError, "already exists; choose another output location or pass overwrite=True"),
    Case("output", "overwrite=True on a folder of user files", lambda c: c.fit(output_dir=_user_folder(c), overwrite=True),
         FileExistsError, "will not overwrite .* it has no valid bundle.json"),
    Case("output", 'overwrite=True on "." (the working directory)', lambda c: c.fit(output_dir=".", overwrite=True),
         FileExistsError, "is the working directory or a folder above it"),
    Case("output", "output_dir another process is writing", lambda c: c.fit(output_dir=_locked(c)),
         FileExistsError, r"is in use by process 1 on .* since 2026-11-27T09:00:00"),
    Case("output", "read-only output location", lambda c: c.fit(output_dir="/sys/pytext_psych_out"),
         PermissionError, "cannot write to '/sys'"),
    Case("output", "score file exists without overwrite",
         lambda c: write_scores(c.bundle, c.csv("text\nhello\n"), c.csv("old scores", "scores.csv"), text="text"),
         FileExistsError, "already exists"),
    Case("output", "score file of an unknown type", lambda c: write_scores(c.bundle, ["x"], c.tmp / "s.xlsx"),
         ValueError, "out must be a .csv or .parquet file"),
    # --- scoring ---------------------------------------------------------------------
    Case("scoring", "one string instead of a list", lambda c: predict_scores(c.bundle, "just one text"),
         TypeError, "single string"),
    Case("scoring", "data frame without text=", lambda c: predict_scores(c.bundle, pd.DataFrame({"a": ["x"]})),
         ValueError, "name its text column with text="),
    Case("scoring", "blank text", lambda c: predict_scores(c.bundle, ["fine", "\u200b"]), ValueError,
         r"0 missing and 1 empty text\(s\) \(rows 1\)"),
    Case("scoring", "lone surrogate to score", lambda c: predict_scores(c.bundle, ["ok", "\udcff"]), ValueError,
         r"not valid Unicode \(lone surrogate characters; rows 1\)"),
    Case("scoring", "bytes to score", lambda c: predict_scores(c.bundle, [b"bytes"]), ValueError, "not text .bytes"),
    Case("scoring", "file with a 'predicted' column already",
         lambda c: predict_scores(c.bundle, c.csv("text,predicted\nhello,old\n"), text="text"),
         ValueError, "already has column.s. 'predicted'"),
    Case("scoring", "file with the model's prob_ columns already",
         lambda c: predict_scores(c.bundle, c.csv("text,prob_work\nhello,0.5\n"), text="text"),
         ValueError, "already has column.s. 'prob_work'"),
    Case("scoring", "empty file to score", lambda c: predict_scores(c.bundle, c.csv("text\n"), text="text"),
         ValueError, "no texts to score"),
    Case("scoring", "precision unknown", lambda c: predict_scores(c.bundle, ["x"], precision="bf16"),
         ValueError, r"precision='bf16' \(one of auto, fp32, int8, fp16\)"),
    Case("scoring", "threads=0", lambda c: predict_scores(c.bundle, ["x"], threads=0), ValueError,
         r"threads=0 \(None or a whole number of at least 1\)"),
    Case("scoring", "out= given to predict_scores (it returns the scores)",
         lambda c: predict_scores(c.bundle, ["x"], out=c.tmp / "s.csv"), TypeError,
         "write_scores writes them to a file"),
    Case("scoring", 'overwrite="no" (a string, not False)',
         lambda c: write_scores(c.bundle, ["x"], c.csv("old", "scores.csv"), overwrite="no"),
         ValueError, "overwrite must be True or False"),
    Case("bundle", "digest that is not a string", lambda c: load_model(c.bundle, digest=123),
         TypeError, "digest must be the bundle's published digest"),
    Case("scoring", "chunk_size=0", lambda c: predict_scores(c.bundle, ["x"], chunk_size=0), ValueError,
         r"chunk_size=0 \(a whole number of at least 1\)"),
    # --- bundles ---------------------------------------------------------------------
    Case("bundle", "folder that is not a bundle", lambda c: load_model(c.tmp), BundleError, "is not a model bundle"),
    Case("bundle", "a changed ONNX file", lambda c: load_model(_flip_byte(c)), BundleError, "modified: model.onnx"),
    Case("bundle", "onnx.files names a path outside the bundle",
         lambda c: load_model(_edit_bundle(c, lambda m: m["onnx"]["files"].update(fp32="../../elsewhere/attacker.onnx"))),
         BundleError, "names files outside the bundle"),
    Case("bundle", "onnx.files names an absolute path",
         lambda c: load_model(_edit_bundle(c, lambda m: m["onnx"]["files"].update(int8="/tmp/attacker.onnx"))),
         BundleError, "names files outside the bundle"),
    Case("bundle", "forged labels (manifest recomputed)", lambda c: load_model(_forged(c), digest=_digest(c)),
         BundleError, "is not the bundle that digest was published for"),
    Case("bundle", "a symbolic link inside", lambda c: load_model(_symlinked(c)), BundleError, "symbolic link"),
    Case("bundle", "bundle.json hand-edited", lambda c: load_model(_edit_bundle(c, lambda m: m.update(task="x"))),
         BundleError, "modified after the bundle was written"),
]


def _flip_byte(ctx: Ctx) -> Path:
    copy = ctx.copy_bundle()
    with open(copy / "model.onnx", "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 1]))
    return copy


def _forged(ctx: Ctx) -> Path:
    """Labels and metrics changed, manifest_sha256 recomputed: passes the checksums."""
    from pytext_psych.scoring.bundle import _manifest_digest

    def forge(meta):
        meta["labels"] = list(reversed(meta["labels"]))
        meta["metrics"][0]["estimate"] = 0.99
        meta["manifest_sha256"] = _manifest_digest(meta)

    copy = _edit_bundle(ctx, forge)
    load_model(copy)  # the forgery passes the per-file checks; only the digest catches it
    return copy


def _digest(ctx: Ctx) -> str:
    from pytext_psych.scoring.bundle import bundle_digest

    return bundle_digest(ctx.bundle)


def _without_pyarrow(ctx: Ctx):
    path = ctx.tmp / "data.parquet"
    ctx.df.to_parquet(path)
    return _hiding_pyarrow(lambda: ctx.fit(path))


def _hiding_pyarrow(call: Callable[[], Any]) -> Any:
    """Run ``call`` as if pyarrow were not installed (a fault that cannot be made real in
    an environment that has it: the light install test covers the real one)."""
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("pyarrow")}
    sys.modules["pyarrow"] = None  # import fails as if it were not installed
    try:
        return call()
    finally:
        del sys.modules["pyarrow"]
        sys.modules.update(saved)


@pytest.fixture
def ctx(topic_fit, tmp_path, monkeypatch):
    from pytext_psych.training import train

    def no_training(*args, **kwargs):
        raise AssertionError("the model was loaded: the error came too late")

    monkeypatch.setattr(train, "load_base", no_training)
    monkeypatch.chdir(tmp_path)
    df = pd.DataFrame({"text": ["good day", "bad day", "fine", "awful", "great", "terrible"] * 4,
                       "label": ["pos", "neg"] * 12, "score": np.arange(24, dtype=float)})
    return Ctx(df, tmp_path, topic_fit.bundle_path)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.case}" for c in CASES])
def test_bad_input_gets_a_clear_error_before_any_work(ctx, case):
    before = ctx.df.copy()
    files_before = _tree(ctx.tmp)
    with pytest.raises(case.error, match=case.match) as caught:
        case.call(ctx)
    assert len(str(caught.value)) < 600, "an error message should be readable at a glance"
    assert not (ctx.tmp / "out").exists()
    new = _tree(ctx.tmp) - files_before
    assert not [p for p in new if ".pytext-psych-" in p or p.startswith("out")], new
    pd.testing.assert_frame_equal(ctx.df, before)  # the caller's data is untouched


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_semicolon_csv_is_read(tmp_path):
    from pytext_psych import read_data

    path = tmp_path / "excel.csv"
    path.write_text("text;label\nhello, world;pos\nbye;neg\n", encoding="utf-8-sig")
    assert read_data(path).to_dict("list") == {"text": ["hello, world", "bye"], "label": ["pos", "neg"]}


def test_cli_reports_os_and_import_errors_in_one_line(ctx, capsys):
    data = ctx.csv("text\nhello\n")
    assert cli(["info", str(ctx.tmp / "nowhere")]) == 2  # BundleError
    assert cli(["predict", str(ctx.bundle), str(data), "--text", "text",
                "--out", "/sys/pytext_psych/scores.csv"]) == 2  # PermissionError (an OSError)
    ctx.df.to_parquet(ctx.tmp / "data.parquet")
    assert _hiding_pyarrow(lambda: cli(["fit", str(ctx.tmp / "data.parquet"), "--text", "text",
                                        "--outcome", "label"])) == 2  # ImportError
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("pytext-psych: error:") == 3, err
    assert "pytext-psych[parquet]" in err


def render(ctx: Ctx) -> str:
    """docs/bad_input.md: every case with the error the package really gives."""
    lines = ["# What happens with bad input", "",
             "Generated by `python tests/test_bad_input.py` from the cases that "
             "`tests/test_bad_input.py` checks; every error below is raised before any model is "
             "loaded or any file is written.", "",
             "| area | case | what happens |", "|---|---|---|"]
    for case in CASES:
        try:
            case.call(ctx)
            outcome = "no error (!)"
        except Exception as err:  # noqa: BLE001 - recording what users see
            message = str(err).replace(str(ctx.tmp), "…").replace("|", "\\|").replace("\n", " ")
            outcome = f"`{type(err).__name__}`: {message}"
        for path in ctx.tmp.iterdir():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        lines.append(f"| {case.area} | {case.case} | {outcome} |")
    return "\n".join(lines) + "\n"


def test_docs_table_lists_every_case():
    rows = [line.split(" | ")[:2] for line in DOC.read_text().splitlines()[6:]]
    assert [(a.lstrip("| "), c) for a, c in rows] == [(c.area, c.case) for c in CASES], (
        "docs/bad_input.md is out of date: run python tests/test_bad_input.py")


if __name__ == "__main__":
    import tempfile

    from pytext_psych import example_data
    from pytext_psych.training import train

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)

        fit = fit_text_model(example_data().sample(120, random_state=0), "answer", "topic",
                             epochs=1, max_length=16, progress=False, n_resamples=50,
                             output_dir=root / "fit" / "bundle", strategy="full")
        work = root / "case"
        work.mkdir()
        ctx = Ctx(pd.DataFrame({"text": ["good day", "bad day", "fine", "awful", "great", "terrible"] * 4,
                                "label": ["pos", "neg"] * 12, "score": np.arange(24, dtype=float)}),
                  work, fit.bundle_path)
        train.load_base = None  # as in the test: any case that reaches model loading fails
        os.chdir(work)
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(render(ctx))
        print(f"wrote {DOC}")
