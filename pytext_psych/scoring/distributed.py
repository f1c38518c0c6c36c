"""Scoring on a Dask cluster: :func:`predict_scores_distributed`, for more texts than one
machine scores in good time (a panel's answers across waves, an archive of transcripts).

We do not schedule anything ourselves: Dask does (``pip install "pytext-psych[dask]"``).
The same call runs on a laptop (a ``LocalCluster`` sized to its cores), on the ``Client``
the user already has, or on a cluster's scheduler address (``dask-jobqueue`` on SLURM).

How it keeps the package's promises:

* **Same text, same score.** Each partition is scored by the code path of
  :func:`~pytext_psych.predict_scores` (``predict.score_chunk``, one text per onnxruntime
  call), so the scores equal single-process scoring, whatever the partitioning.
* **The bundle is verified where it runs.** onnxruntime sessions cannot be pickled, so the
  tasks carry the bundle's path and digest; each worker process loads (verifying every
  file's sha256 and the digest) once and keeps it. Each task scores single-threaded, so
  a worker with ``nthreads`` slots runs that many sessions and cores are not oversubscribed.
* **No half-written result under the final name.** Partitions are written, each
  atomically, into a hidden folder next to ``out`` (``.<name>.pytext-psych.partial-<job>``);
  only when every partition is there is the folder renamed to ``out`` in one step. A
  worker killed mid-run loses its partitions' tasks, which Dask reruns elsewhere; a rerun
  overwrites the same part file, so rows are neither lost nor duplicated. After a crash,
  the same call (same bundle, data, settings and pytext-psych version) resumes: finished
  partitions are kept.
* **Never lose the user's files.** ``out`` is reserved and locked as every other output
  (:mod:`pytext_psych.core.outputs`): an existing ``out`` is replaced only with
  ``overwrite=True`` and only if pytext-psych wrote all of it.

``out`` (and the bundle) must be on a file system every worker sees, as with Dask's own
``to_parquet`` to a local path. No torch here.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from hashlib import sha256
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from ..core.outputs import PREFIX, reserve
from ..core.settings import ScoreSettings, is_bool, score_settings_from, show_settings_in_signature
from ..core.version import VERSION
from ..data.reading import READERS, sniff_csv
from .bundle import BundleError, bundle_digest
from .frames import class_columns
from .infer import ModelLike, load_model
from .predict import check_no_clash, ready_model, score_chunk
from .shift import ShiftTally

MARKER = "_pytext_psych.json"  # lists the part files; leading "_": Parquet readers skip it
PART = "part-{:06d}.parquet"


@dataclass(frozen=True)
class Task:
    """What a worker needs to score one partition (small and picklable)."""

    bundle: str
    digest: str
    text: str
    precision: str
    interval: float | None
    check_shift: bool
    keep_index: bool
    folder: str


def predict_scores_distributed(
    model: ModelLike,
    data: Any,
    text: str,
    *,
    out: str | Path,
    scheduler: Any = None,
    workers: int | None = None,
    overwrite: bool = False,
    resume: bool = True,
    **options: Any,
) -> Path:
    """Score texts on a Dask cluster and write the scores as a Parquet folder.

    Parameters
    ----------
    model : str, Path, TextModel or TextModelFit
        The model bundle; it must sit where every worker can read it (shared file system).
    data : Dask DataFrame, pandas DataFrame, or path / glob
        The texts: a Dask or pandas DataFrame (split into partitions of ``chunk_size``
        rows), or one or more CSV / TSV / Parquet files (``"answers/*.parquet"``), read by
        Dask a partition per Parquet row group or per 4 MiB of CSV.
    text : str
        The text column. Every other column (ids, covariates) is copied into the output.
    out : path
        A new Parquet folder: ``part-000000.parquet`` ... in input order, and
        ``_pytext_psych.json`` (which bundle, how many rows). It appears only once complete.
    scheduler : distributed.Client or str, optional
        A client, or a scheduler's address (``"tcp://host:8786"``). By default the client
        already running in this session, else a ``LocalCluster`` of ``workers`` processes.
    workers : int, optional
        Processes of the local cluster (default: this machine's cores), one thread each.
    **options
        ``precision``, ``interval``, ``check_shift``, ``progress`` (shown unless False) and
        ``chunk_size`` (rows per partition of a DataFrame), as in
        :func:`~pytext_psych.predict_scores` and validated the same way (each worker scores
        single-threaded, so not ``threads``). With ``check_shift``, the warning about
        unusual texts is given once, for all partitions together.
    overwrite : bool
        Replace an existing ``out`` (only a folder pytext-psych wrote).
    resume : bool
        Keep the partitions a crashed or killed run of the same job finished
        (``False``: score everything again).

    Returns
    -------
    Path
        ``out``; read it with ``pandas.read_parquet(out)`` or ``dask.dataframe.read_parquet``.

    Examples
    --------
    >>> from pytext_psych import predict_scores_distributed                # doctest: +SKIP
    >>> predict_scores_distributed("my_model/", "waves/*.parquet", "answer",
    ...                            out="scores/", workers=4)                # doctest: +SKIP
    """
    settings = score_settings_from(options, "predict_scores_distributed")
    if settings.threads is not None:
        raise ValueError("threads= is for one process; here each worker scores single-threaded "
                         "(give more workers instead)")
    local = ready_model(model, settings)  # fail before any data is read
    for name, value in (("overwrite", overwrite), ("resume", resume)):
        if not is_bool(value):
            raise ValueError(f"{name} must be True or False, not {value!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if scheduler is not None and workers is not None:
        raise ValueError("give scheduler= (an existing cluster) or workers= (a local one), not both")
    precision, interval, check_shift = settings.precision, settings.interval, settings.check_shift
    frame = dask_frame(data, text, settings.chunk_size)
    check_no_clash(frame.columns, text, local, interval)
    digest = bundle_digest(local.path)
    with reserve(out, overwrite=overwrite, marker=MARKER) as slot, _client(scheduler, workers) as client:
        job = _job_key(frame, digest, text, precision, interval, check_shift)
        partial = _partial_folder(slot.target, job, resume)
        task = Task(str(local.path.resolve()), digest, text, precision, interval, check_shift,
                    isinstance(data, pd.DataFrame) or bool(frame.known_divisions), str(partial))
        counts = _run(client, frame, task, settings.progress is not False)
        if sum(rows for rows, *_ in counts.values()) == 0:
            raise ValueError("there are no texts to score (the data has no rows)")
        tally = ShiftTally()
        for rows, unusual, signals in counts.values():
            tally.add(rows, unusual, signals)
        _write_marker(partial, task, counts, job, class_columns(local.description))
        slot.publish(partial)
    tally.warn(stacklevel=2)
    return slot.target


show_settings_in_signature(predict_scores_distributed, {"precision", "chunk_size", "interval", "check_shift",
                                                        "progress"}, classes=(ScoreSettings,))


def dask_frame(data: Any, text: str, chunk_size: int):
    """``data`` as a Dask DataFrame that has the column ``text``."""
    import dask.dataframe as dd

    if isinstance(data, pd.DataFrame):
        frame = dd.from_pandas(data, chunksize=chunk_size, sort=False)
    elif isinstance(data, (str, Path)):
        frame = _read_files(str(data))
    elif isinstance(data, dd.DataFrame):
        frame = data
    else:
        raise TypeError("data must be a Dask or pandas DataFrame, or a path / glob of CSV, TSV or "
                        f"Parquet files, not {type(data).__name__}")
    if text not in frame.columns:
        raise ValueError(f"text column {text!r} not found in data; its columns are "
                         f"{', '.join(map(repr, map(str, frame.columns)))}")
    return frame


def _read_files(pattern: str):
    from glob import glob

    import dask.dataframe as dd

    files = sorted(glob(os.path.expanduser(pattern)))
    if not files:
        raise FileNotFoundError(f"no data file matches '{pattern}'")
    kinds = {READERS.get(Path(f).suffix.lower()) for f in files}
    if None in kinds or len(kinds) > 1:
        raise ValueError(f"'{pattern}' must match only .csv, only .tsv or only .parquet files; "
                         f"it matches {', '.join(Path(f).name for f in files[:5])}")
    if kinds == {"parquet"}:  # a partition per row group (pyarrow writes up to 1M rows each)
        return dd.read_parquet(files, split_row_groups=True)
    # 4 MiB blocks: about 30,000 short answers, or 6,000 of 600 characters, per partition
    return dd.read_csv(files, blocksize="4MiB", **sniff_csv(Path(files[0])))


def _job_key(frame, digest: str, text: str, precision: str, interval, check_shift: bool) -> str:
    """What makes two runs the same job: bundle, data (Dask's token: content for in-memory
    frames, paths and modification times for files), partitioning and settings."""
    from dask.base import tokenize

    key = json.dumps([VERSION, digest, tokenize(frame), frame.npartitions, text, precision, interval,
                      check_shift])
    return sha256(key.encode()).hexdigest()[:16]


def _partial_folder(target: Path, job: str, resume: bool) -> Path:
    """The hidden folder the parts are written to: this job's from an earlier run when
    resuming, else a fresh one. Other jobs' partial folders for ``target`` are removed
    (we hold its lock; the package wrote them)."""
    keep = target.with_name(f".{target.name}{PREFIX}.partial-{job}")
    for old in target.parent.glob(f".{target.name}{PREFIX}.partial-*"):
        if old != keep or not resume:
            shutil.rmtree(old, ignore_errors=True)
    keep.mkdir(mode=0o777, exist_ok=True)
    for tmp in keep.glob(".part-*"):  # temporary files of killed tasks
        tmp.unlink(missing_ok=True)
    return keep


@contextmanager
def _client(scheduler: Any, workers: int | None) -> Iterator[Any]:
    """The client to use: the one given, one connected to an address, the session's
    current one, or a new LocalCluster (closed afterwards)."""
    try:
        import dask
        from distributed import Client, LocalCluster, get_client
    except ImportError:
        raise ImportError('distributed scoring needs Dask: pip install "pytext-psych[dask]"') from None
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
        return
    if scheduler is not None:
        raise TypeError(f"scheduler must be a distributed.Client or an address, not {scheduler!r}")
    current = None
    if workers is None:
        try:
            current = get_client()
        except ValueError:  # no client in this session
            pass
    if current is not None:
        yield current
        return
    n = workers or len(os.sched_getaffinity(0))
    # the scheduler and the nannies make their scratch folders under Dask's temporary
    # directory, which defaults to the system one: point it at a folder removed afterwards
    with tempfile.TemporaryDirectory(prefix="pytext-psych-dask-") as scratch, \
            dask.config.set({"temporary-directory": scratch}), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                         silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def _run(client, frame, task: Task, progress: bool) -> dict[int, tuple[int, int, dict[str, int]]]:
    """Score the partitions not already written; ``{partition: (rows, unusual texts, how
    many of them each signal set apart)}``."""
    from dask import delayed
    from distributed import as_completed
    from tqdm.auto import tqdm

    folder = Path(task.folder)
    done = _finished(folder)
    parts = frame.to_delayed()
    todo = {i: delayed(score_partition)(part, i, task) for i, part in enumerate(parts) if i not in done}
    futures = dict(zip(client.compute(list(todo.values())), todo))
    counts = dict(done)
    with tqdm(total=len(parts), initial=len(done), disable=not progress, desc="scoring",
              unit="partition") as bar:
        for future in as_completed(futures):
            counts[futures[future]] = tuple(future.result())
            bar.update(1)
    return counts


def _finished(folder: Path) -> dict[int, tuple[int, int, dict[str, int]]]:
    """Partitions an earlier run of the same job wrote (their files are complete: each is
    written under a temporary name and renamed)."""
    done = {}
    for path in folder.glob("part-*.parquet"):
        counts = path.with_name(f"{path.stem}.json")
        if counts.is_file():
            done[int(path.stem.split("-")[1])] = tuple(json.loads(counts.read_text()))
    return done


def score_partition(frame: pd.DataFrame, number: int, task: Task) -> tuple[int, int, dict[str, int]]:
    """Score one partition on a worker and write it; returns (rows, unusual texts, how many
    of them each signal set apart: the shift check's counts, warned about once by the client)."""
    model = _worker_model(task.bundle, task.digest)
    folder = Path(task.folder)
    settings = ScoreSettings(precision=task.precision, threads=1, interval=task.interval,
                             check_shift=task.check_shift)
    tally = ShiftTally()
    scores = score_chunk(model, frame, text=task.text, what=f"text column {task.text!r}", from_file=True,
                         settings=settings, tally=tally) if len(frame) else None
    counts = (len(frame), tally.unusual, dict(tally.signals))
    part = folder / PART.format(number)
    if scores is not None:
        _atomic(part, lambda tmp: scores.to_parquet(tmp, index=task.keep_index))
    _atomic(part.with_name(f"{part.stem}.json"), lambda tmp: tmp.write_text(json.dumps(counts)))
    return counts


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write(tmp)
    os.replace(tmp, path)


@lru_cache(maxsize=4)
def _worker_model(path: str, digest: str):
    """The bundle, loaded and verified once per worker process."""
    if not Path(path).is_dir():
        raise BundleError(f"the model bundle '{path}' is not there on this worker; put it on "
                          "a file system every worker can read")
    return load_model(path, digest=digest)


def _write_marker(folder: Path, task: Task, counts: dict[int, tuple[int, int, dict[str, int]]], job: str,
                  classes: dict[str, Any]) -> None:
    """``_pytext_psych.json``: every file of the folder (so overwrite=True may replace it),
    the bundle, the settings, the row counts and the class columns' levels."""
    for counts_file in folder.glob("part-*.json"):
        counts_file.unlink()
    files = sorted(p.name for p in folder.glob("part-*.parquet"))
    record = {"files": files, "job": job, "rows": sum(n for n, *_ in counts.values()),
              "partitions": len(counts), **{k: v for k, v in asdict(task).items() if k != "folder"},
              "classes": classes}
    (folder / MARKER).write_text(json.dumps(record, indent=1))


def written_classes(out: str | Path) -> dict[str, Any]:
    """The class columns of the scores in ``out`` and their levels in the fit's order (see
    :func:`~pytext_psych.scoring.frames.class_columns`), as its marker records them; none
    for folders written before the marker recorded them."""
    marker = Path(out) / MARKER
    if not marker.is_file():
        raise ValueError(f"'{out}' is not a folder of scores written by predict_scores_distributed "
                         f"(it has no {MARKER})")
    return json.loads(marker.read_text()).get("classes", {})
