"""Sample-size planning: how does accuracy grow with the number of labelled texts?

``learning_curve`` fine-tunes the model on stratified subsamples of increasing size,
evaluates every run on one fixed test set (with bootstrap CIs), fits the inverse power law
``metric = a - b * n^(-c)`` (Figueroa et al., 2012, doi:10.1186/1472-6947-12-8) and says
how many labelled texts a target metric would take, with a bootstrap band. Runs are
appended to ``output_dir/runs.jsonl`` as they finish, so an interrupted grid resumes
where it stopped.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import metadata
from .core.settings import TrainSettings, is_int, is_real, show_settings_in_signature
from .data.design import split_rows
from .data.reading import DataLike
from .evaluation.evaluate import observed_values, score_rows
from .stats import (
    COLUMNS,
    HEADLINE,
    bootstrap_metrics,
    compare_predictions,
    dev_scorer,
    metric_task,
    quantile_interval,
    stratified_replicates,
)
from .training.checkpoints import Checkpoints

RUN_COLUMNS = ["n_train", "repeat", "model", "strategy"] + COLUMNS
PAIRED = "fine-tuned minus baseline"  # the paired bootstrap difference on the same test texts
FAR = 2.0  # extrapolating beyond this multiple of the largest size is flagged


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """The inverse power law ``a - b * n^(-c)``: ``a`` is the asymptote."""
    return a - b * np.power(n, -c)


def _fit_power_law(n: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Least-squares ``(a, b, c)`` with ``a <= 1`` (F1 and r cannot pass 1), ``b >= 0`` and
    ``0.01 <= c <= 3``. For a fixed ``c`` the model is linear in ``a`` and ``b``, so ``c``
    is searched (grid, then Brent) with ``a`` and ``b`` solved exactly: robust, and fast
    enough to bootstrap."""
    from scipy.optimize import minimize_scalar

    if len(np.unique(n)) < 3:
        return None

    def solve(c: float) -> tuple[float, np.ndarray]:
        x = np.column_stack([np.ones_like(n), -np.power(n, -c)])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        if coef[0] > 1:  # asymptote at the ceiling: fit b alone
            coef = np.array([1.0, max(0.0, float(x[:, 1] @ (y - 1) / (x[:, 1] @ x[:, 1])))])
        if coef[1] < 0:  # a curve that falls with n: the best monotone fit is flat
            coef = np.array([min(y.mean(), 1.0), 0.0])
        return float(((x @ coef - y) ** 2).sum()), coef

    grid = np.geomspace(0.01, 3.0, 40)
    best = int(np.argmin([solve(c)[0] for c in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    c = float(minimize_scalar(lambda c: solve(c)[0], bounds=(lo, hi), method="bounded").x)
    return np.array([*solve(c)[1], c])


@dataclass
class LearningCurve:
    """Runs of :func:`learning_curve` and the inverse power law fitted to them.

    Attributes
    ----------
    runs : DataFrame
        One row per run, model and metric: ``n_train, repeat, model`` (``"fine-tuned"``,
        ``"baseline"``, or ``"fine-tuned minus baseline"``: the paired bootstrap difference on
        the same test texts), ``strategy`` (the one the run's fine-tune used: ``"auto"``
        becomes ``"contrastive"`` or ``"full"`` by each run's size) and the tidy metric
        columns (estimates with bootstrap CIs on the fixed test set).
    metric : str
        The metric the curve is fitted to (macro F1 or Pearson r).
    n_test : int
        Size of the fixed test set.
    """

    runs: pd.DataFrame
    metric: str
    n_test: int
    n_boot: int = 300
    seed: int = 42
    ci_level: float = 0.95  # of the bands and intervals, by default

    def summary(self) -> pd.DataFrame:
        """Mean, SD, min and max of ``metric`` across repeats, per size and model."""
        t = self.runs[self.runs.metric == self.metric]
        out = t.groupby(["model", "n_train"]).estimate.agg(["mean", "std", "min", "max", "count"])
        return out.rename(columns={"std": "sd", "count": "runs"}).reset_index()

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.runs[(self.runs.metric == self.metric) & (self.runs.model == "fine-tuned")]
        return t.n_train.to_numpy(float), t.estimate.to_numpy(float)

    @cached_property
    def _bootstrap_params(self) -> np.ndarray:
        """Power-law parameters refitted on resampled runs (repeats resampled within each
        size, so every size stays represented); computed once."""
        n, y = self._points()
        return np.array(stratified_replicates(n, lambda rows: _fit_power_law(n[rows], y[rows]),
                                              self.n_boot, self.seed))

    @property
    def params(self) -> dict[str, float]:
        """The fitted asymptote ``a``, scale ``b`` and rate ``c``."""
        p = _fit_power_law(*self._points())
        if p is None:
            raise ValueError("the power law could not be fitted to these runs (need 3+ sizes)")
        return dict(zip("abc", map(float, p)))

    def predict(self, sizes: Sequence[float], ci_level: float | None = None) -> pd.DataFrame:
        """The fitted curve at ``sizes`` with a bootstrap band (``conf_low, conf_high``) and
        whether each size is an extrapolation far beyond the observed sizes."""
        ci_level = self.ci_level if ci_level is None else ci_level
        sizes = np.asarray(sizes, dtype=float)
        p = self.params
        curves = np.array([power_law(sizes, *q) for q in self._bootstrap_params])
        low, high = quantile_interval(curves, ci_level)
        largest = self._points()[0].max()
        return pd.DataFrame({
            "n_train": sizes, "estimate": power_law(sizes, p["a"], p["b"], p["c"]),
            "conf_low": low, "conf_high": high, "ci_level": ci_level, "extrapolated": sizes > FAR * largest,
        })

    def band(self, points: int = 60) -> pd.DataFrame:
        """:meth:`predict` from the smallest size to 4x the largest (geometric grid): the
        curve the plot draws."""
        n, _ = self._points()
        return self.predict(np.geomspace(n.min(), 4 * n.max(), points))

    def n_needed(self, target: float, ci_level: float | None = None) -> dict[str, Any]:
        """Labelled texts needed to reach ``target`` (e.g. r = .60), as an estimate.

        Returns the point estimate and a bootstrap interval (``inf`` where the fitted
        asymptote stays below the target), and a caveat when the estimate lies beyond
        ``FAR`` times the largest observed size.
        """
        def solve(a: float, b: float, c: float) -> float:
            return float((b / (a - target)) ** (1 / c)) if a > target else np.inf

        ci_level = self.ci_level if ci_level is None else ci_level
        estimate = solve(**self.params)
        low, high = quantile_interval(np.array([solve(*q) for q in self._bootstrap_params]), ci_level)
        largest = self._points()[0].max()
        caveat = ""
        if not np.isfinite(estimate):
            caveat = (f"the fitted curve levels off at {self.params['a']:.3f}, below the target: "
                      "more texts of this kind are not predicted to reach it")
        elif estimate > FAR * largest:
            caveat = (f"an extrapolation to {estimate / largest:.1f} times the largest size "
                      f"observed ({largest:.0f}); treat it as a rough guide")
        n, _ = self._points()
        if np.unique(n, return_counts=True)[1].max() == 1:
            caveat = (caveat + "; " if caveat else "") + (
                "with one run per size the interval leaves out run-to-run variation, so it is "
                "too narrow; use repeats >= 3")
        return {"metric": self.metric, "target": target, "n_train": estimate,
                "conf_low": float(low), "conf_high": float(high), "ci_level": ci_level, "caveat": caveat}

    def plot(self, path: str | Path, targets: Sequence[float] = ()) -> Path:
        """Save the curve: per-run estimates with CIs, the fitted power law with its band
        (extended to 4x the largest size), and the baseline's mean per size."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        ax = fig.subplots()
        t = self.runs[self.runs.metric == self.metric]
        for model, color, marker in (("fine-tuned", "#2b6a99", "o"), ("baseline", "grey", "x")):
            m = t[t.model == model]
            if len(m):
                ax.errorbar(m.n_train, m.estimate, yerr=[m.estimate - m.conf_low, m.conf_high - m.estimate],
                            fmt=marker, color=color, alpha=0.6, capsize=2, label=f"{model} runs (95% CI)")
        if len(np.unique(self._points()[0])) >= 3:
            band = self.band()
            ax.plot(band.n_train, band.estimate, color="#c0392b", label="inverse power law fit")
            ax.fill_between(band.n_train, band.conf_low, band.conf_high, color="#c0392b", alpha=0.15)
        for target in targets:
            ax.axhline(target, color="black", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        name = {"pearson_r": "Pearson r", "f1_macro": "macro F1"}.get(self.metric, self.metric)
        ax.set(xlabel="labelled texts (train + dev)", ylabel=f"test {name} (n = {self.n_test})",
               title="learning curve")
        ax.legend(frameon=False, fontsize=8)
        fig.savefig(path, dpi=150)
        return Path(path)


def learning_curve(
    data: DataLike,
    text: str,
    outcome: str,
    *,
    sizes: Sequence[int | str] = (100, 250, 500, 1000),
    repeats: int = 3,
    test: float = 0.25,
    task: str = "auto",
    output_dir: str | Path | None = None,
    progress: bool = True,
    resume: bool = True,
    **options: Any,
) -> LearningCurve:
    """Fine-tune on ``repeats`` stratified subsamples of each size; evaluate on one test set.

    Parameters
    ----------
    sizes : sequence of int or "full"
        Numbers of labelled texts per run (training plus dev, split 5:1 as in
        :func:`fit_text_model`). ``"full"`` is the whole pool (all rows not in the test
        set). Sizes larger than the pool are refused.
    repeats : int
        Subsamples per size (each with its own random stream); the full pool is run once.
    test : float
        Share of the data held out once, stratified, as the fixed test set of every run.
    output_dir : path, optional
        Folder for ``runs.jsonl``: finished runs (metrics, and the data index labels of
        their train, dev and test texts) are recorded there and skipped when the
        call is repeated (resuming an interrupted grid). The settings are recorded too;
        a folder made with other settings is refused. The run in progress also saves
        its fine-tune every epoch there, so a crash or Ctrl-C loses at most an epoch.
    resume : bool
        ``False`` starts the unfinished run over (finished runs in ``runs.jsonl`` are
        results and stay).
    **options
        Training settings as in :func:`fit_text_model` (any of
        :class:`~pytext_psych.TrainSettings`), and ``baseline``, ``n_resamples``,
        ``ci_level`` and ``export`` of :class:`~pytext_psych.EvalSettings`. Every run is
        exported and scored through ONNX, as a fit's test split is.

    Returns
    -------
    LearningCurve
        ``.runs``, ``.summary()``, ``.predict(sizes)``, ``.n_needed(target)``, ``.plot(path)``.

    Examples
    --------
    >>> curve = learning_curve(df, "text_long", "anxiety", sizes=(100, 250, 500, 1000),
    ...                        output_dir="curve/")                          # doctest: +SKIP
    >>> curve.summary()                                                      # doctest: +SKIP
    >>> curve.n_needed(0.60)                                                 # doctest: +SKIP
    """
    from . import request

    allowed = {f.name for f in TrainSettings.public_fields()} | CURVE_EVAL
    request.single_fit(outcome, "learning_curve")
    job = request.check_request(data, text, outcome, task, options, progress=False,
                                 caller="learning_curve", allowed=allowed, resume=resume)
    if job.data.prep.task == "ordinal":
        raise ValueError("learning_curve does not take task='ordinal' yet; run it with "
                         "task='regression' (the same split) to see how many texts are needed")
    if not is_real(test, 1e-9, 1 - 1e-9):
        raise ValueError(f"test must be a fraction between 0 and 1, not {test!r}")
    if not is_int(repeats, 1):
        raise ValueError(f"repeats must be a whole number of at least 1, not {repeats!r}")
    fixed = split_rows(job.data.prep.y, job.data.prep.task, (1 - test, 0.0, test), job.settings.seed)
    pool = np.flatnonzero(fixed == "train")
    grid = [len(pool) if s == "full" else s for s in sizes]
    if not grid or not all(is_int(s, 12, len(pool)) for s in grid):
        raise ValueError(f"sizes must be whole numbers between 12 and the pool of {len(pool)} texts "
                         f"(the data minus the test set), or 'full'; got {list(sizes)}")
    grid = sorted(set(grid))
    settings = dict(job.settings.to_dict(), text=text, outcome=outcome, test=test,
                    baseline=job.evaluation.baseline, n=len(job.data.prep.y),
                    n_resamples=job.evaluation.n_resamples, ci_level=job.evaluation.ci_level)
    store = _RunStore(output_dir, settings)
    checkpoints = Checkpoints(Path(output_dir) / "run", resume) if output_dir is not None else None
    runs = [(size, r) for size in grid for r in range(1 if size == len(pool) else repeats)]
    from tqdm.auto import tqdm

    with tqdm(total=len(runs), disable=not progress, desc="learning curve", unit="run") as bar:
        for size, repeat in runs:
            if not store.done(size, repeat):
                started = time.perf_counter()
                tables, assigned, strategy = _run(job, fixed, pool, size, repeat, output_dir, checkpoints)
                rows = {part: job.data.prep.index[assigned == part].tolist() for part in ("train", "dev", "test")}
                store.add(size, repeat, tables, time.perf_counter() - started, rows, strategy)
                if checkpoints is not None:
                    checkpoints.discard()  # the run is recorded
            bar.update(1)
    return LearningCurve(store.frame(), HEADLINE[job.data.prep.task], int((fixed == "test").sum()),
                         seed=job.settings.seed, ci_level=job.evaluation.ci_level)


CURVE_EVAL = {"baseline", "n_resamples", "ci_level", "export"}  # the evaluation settings a curve takes
show_settings_in_signature(learning_curve, {f.name for f in TrainSettings.public_fields()} | CURVE_EVAL)


def _run(job, fixed: np.ndarray, pool: np.ndarray, size: int, repeat: int,
         output_dir: str | Path | None,
         checkpoints: Checkpoints | None) -> tuple[dict[str, pd.DataFrame], np.ndarray, str]:
    """One run: its own random stream (``SeedSequence(seed, spawn_key=(size, repeat))``, so
    no two runs share one), a stratified subsample split 5:1 into train and dev, a
    fine-tune exported and scored through ONNX on the fixed test rows; the metrics, each
    row's part (train, dev, test or unused), and the strategy the fine-tune used
    (``"auto"`` is made concrete per run, by its number of training texts)."""
    from . import pipeline
    from .data.design import Run
    from .training.nets import TokenCache

    prep = job.data.prep
    seed = int(np.random.SeedSequence(job.settings.seed, spawn_key=(size, repeat)).generate_state(1)[0])
    rows = pool[_subsample(prep.y[pool], prep.task, size, seed)]
    assigned = np.where(fixed == "test", "test", "unused").astype(object)
    assigned[rows] = split_rows(prep.y[rows], prep.task, (5 / 6, 1 / 6, 0.0), seed)
    run = Run(f"n = {size}, repeat {repeat + 1}", assigned)
    trained = pipeline.train_run(job.data, run, job.settings.but(seed=seed), TokenCache(), checkpoints,
                                 job.progress)
    contract = metadata.scoring_contract(prep, job.data.text, job.settings, trained.tokenizer.pad_token_id,
                                         job.settings.model)
    with tempfile.TemporaryDirectory(prefix=".curve-run-", dir=output_dir) as folder:
        scorer = pipeline.export_model(prep, trained, Path(folder), contract, job.evaluation.precisions)
        test_rows = run.rows("test")
        predicted = score_rows(scorer, prep.texts, test_rows, len(prep.y)).frame["predicted"].to_numpy()
    observed = observed_values(prep)[test_rows]
    boot = dict(labels=prep.labels, n_resamples=job.evaluation.n_resamples,
                ci_level=job.evaluation.ci_level, seed=job.settings.seed)
    tables = {"fine-tuned": bootstrap_metrics(observed, predicted[test_rows], prep.task, **boot)}
    if job.evaluation.baseline:
        from .evaluation.baseline import fit_baseline

        base = fit_baseline(prep.texts, prep.y, assigned, prep.task, len(prep.labels or [0]),
                            dev_scorer(prep.task)).predicted[test_rows]
        base = np.asarray(prep.labels, dtype=object)[base] if prep.labels else base
        tables["baseline"] = bootstrap_metrics(observed, base, prep.task, **boot)
        paired = compare_predictions(observed, predicted[test_rows], base, metric_task(prep.task), **boot)
        tables[PAIRED] = paired[[c for c in COLUMNS if c in paired]]
    return tables, assigned, trained.settings.strategy


def _subsample(y: np.ndarray, task: str, size: int, seed: int) -> np.ndarray:
    """``size`` row positions of ``y``, stratified by class (every class kept where it can be)."""
    if size >= len(y):
        return np.arange(len(y))
    share = size / len(y)
    chosen = split_rows(y, task, (share, 0.0, 1 - share), seed)
    rows = np.flatnonzero(chosen == "train")
    if len(rows) != size:  # per-class rounding: trim or top up at random
        rng = np.random.default_rng(seed)
        rest = np.setdiff1d(np.arange(len(y)), rows)
        rows = (rng.choice(rows, size, replace=False) if len(rows) > size else
                np.concatenate([rows, rng.choice(rest, size - len(rows), replace=False)]))
    return np.sort(rows)


class _RunStore:
    """Finished runs, in memory and (with a folder) appended to ``runs.jsonl``."""

    def __init__(self, folder: str | Path | None, settings: dict[str, Any]):
        self.path = Path(folder) / "runs.jsonl" if folder is not None else None
        self.records: list[dict[str, Any]] = []
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = {"settings": settings}
        if self.path.exists():
            lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
            if lines and lines[0] != json.loads(json.dumps(header)):
                raise ValueError(f"'{self.path}' holds runs made with other settings "
                                 f"({lines[0].get('settings')}); use another output_dir")
            self.records = lines[1:]
        else:
            self.path.write_text(json.dumps(header) + "\n")

    def done(self, size: int, repeat: int) -> bool:
        return any(r["n_train"] == size and r["repeat"] == repeat for r in self.records)

    def add(self, size: int, repeat: int, tables: dict[str, pd.DataFrame], seconds: float,
            rows: dict[str, list], strategy: str) -> None:
        """``rows``: the data's index labels of the run's train, dev and test texts (which
        texts a run used, e.g. to fit another model on the same ones); ``strategy``: the one
        its fine-tune used."""
        record = {"n_train": size, "repeat": repeat, "strategy": strategy, "seconds": round(seconds, 1),
                  "tables": {m: t.to_dict(orient="records") for m, t in tables.items()}, "rows": rows}
        self.records.append(record)
        if self.path is not None:
            with self.path.open("a") as f:  # one line per finished run: a crash loses at most one
                f.write(json.dumps(record, default=str) + "\n")

    def frame(self) -> pd.DataFrame:
        rows = [dict(n_train=r["n_train"], repeat=r["repeat"], model=m, strategy=r.get("strategy"), **row)
                for r in self.records for m, t in r["tables"].items() for row in t]
        return pd.DataFrame(rows, columns=RUN_COLUMNS).sort_values(["model", "n_train", "repeat"],
                                                                   kind="stable", ignore_index=True)
