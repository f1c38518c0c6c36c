"""What Dask costs and gives on one machine: 100,000 texts scored by (a) one process
``predict_scores`` (all cores, one thread per core), (b) ``predict_scores_distributed`` on
a Dask LocalCluster of 1 and (c) 2 single-threaded worker processes, side by side in one
run, each configuration in a fresh process. Parquet in (one file, row groups of 10,000
rows: 10 partitions), Parquet out. Reports wall time (with and without starting the
cluster), texts/s, the ratio to one process, the peak memory of every process, and that
the scores are identical.

Writes its section of ``benchmarks/results/distributed.md`` (between the markers; the rest
of the file, the scaling plan and the GPU timings, is kept). Run:
``python benchmarks/bench_distributed.py`` (fits the benchmark bundle first when it is
missing, as bench_scoring.py does). Data: the Real World Worry Dataset's short answers
(Kleinberg, van der Vegt & Mozes, 2020; CC BY 4.0), repeated to 100,000 rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import BUNDLE, PEAK_RSS, RWWD, fit_bundle, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distributed.md"
BEGIN, END = "<!-- bench_distributed.py -->", "<!-- end of bench_distributed.py -->"

RUN = PEAK_RSS + r'''
import json, sys, time
mode, workers, bundle, data, out = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
if __name__ == "__main__":
    start = time.perf_counter()
    if mode == "single":
        from pytext_psych import write_scores
        write_scores(bundle, data, out, text="text", progress=False, check_shift=False)
        done = time.perf_counter()
        print(json.dumps({"seconds": done - start, "scoring": done - start, "startup": 0.0,
                          "rss_mb": [peak_rss_mb()], "client_rss_mb": peak_rss_mb()}))
    else:
        from distributed import Client, LocalCluster
        from pytext_psych import predict_scores_distributed
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                          silence_logs=40) as cluster, Client(cluster) as client:
            ready = time.perf_counter()
            predict_scores_distributed(bundle, data, "text", out=out, scheduler=client,
                                       progress=False, check_shift=False)
            done = time.perf_counter()
            rss = list(client.run(peak_rss_mb).values())
        print(json.dumps({"seconds": done - start, "scoring": done - ready,
                          "startup": ready - start, "rss_mb": rss, "client_rss_mb": peak_rss_mb()}))
'''

CONFIGS = (("single", 0, "one process, `predict_scores` (2 threads)"),
           ("dask", 1, "Dask LocalCluster, 1 worker"),
           ("dask", 2, "Dask LocalCluster, 2 workers"))


def run(script: Path, mode: str, workers: int, bundle: Path, data: Path, out: Path) -> dict:
    res = subprocess.run([sys.executable, str(script), mode, str(workers), str(bundle), str(data),
                          str(out)], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if not BUNDLE.exists():
        fit_bundle(BUNDLE, RWWD)
    texts = pd.read_csv(RWWD)["text_short"].astype(str)
    reps = -(-args.rows // len(texts))
    frame = pd.DataFrame({"id": np.arange(args.rows),
                          "text": np.tile(texts.to_numpy(), reps)[: args.rows]})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, script = tmp / "texts.parquet", tmp / "run.py"
        frame.to_parquet(data, row_group_size=10_000)
        script.write_text(RUN)
        results, scores = [], []
        for k, (mode, workers, label) in enumerate(CONFIGS):
            out = tmp / (f"scores{k}.parquet" if mode == "single" else f"scores{k}")
            results.append((label, run(script, mode, workers, BUNDLE, data, out)))
            scores.append(pd.read_parquet(out)["predicted"].to_numpy())
            print(label, results[-1], flush=True)
    write(results, max(float(np.abs(s - scores[0]).max()) for s in scores), args.rows)


def write(results: list[tuple[str, dict]], max_diff: float, rows: int) -> None:
    single = results[0][1]["seconds"]
    lines = [BEGIN, "", f"## Measured: {rows:,} texts on one machine", "",
             f"Machine: {machine()}.", "",
             f"{rows:,} RWWD short answers (137 characters on average, repeated) in one Parquet "
             "file with row groups of 10,000 rows (Dask: 10 partitions), scored by the benchmark "
             "bundle (MiniLM-L6 regression, int8 as its parity report recommends), written to "
             "Parquet; shift check off. Each configuration runs in a fresh process, one after the "
             "other in one run. Wall time includes reading, scoring and writing; for Dask also "
             "starting the cluster (shown apart). Peak memory: each process's high-water mark "
             "(VmHWM).", "",
             "| configuration | wall s | of it: cluster start s | texts/s (scoring) | "
             "throughput vs one process (wall) | peak RSS per worker (MB) | client RSS (MB) |",
             "|---|---|---|---|---|---|---|"]
    for label, r in results:
        lines.append(f"| {label} | {r['seconds']:.1f} | {r['startup']:.1f} | "
                     f"{rows / r['scoring']:.0f} | {single / r['seconds']:.3f} | "
                     f"{', '.join(f'{m:.0f}' for m in r['rss_mb'])} | {r['client_rss_mb']:.0f} |")
    two = results[-1][1]
    lines += ["", f"Dask overhead at 2 workers on 2 cores: {two['seconds'] / single - 1:+.1%} wall "
              f"time ({two['scoring'] / single - 1:+.1%} without starting the cluster). Largest "
              f"difference between any configuration's scores and one process's: {max_diff:.1e}.",
              "", END]
    text = RESULTS.read_text() if RESULTS.exists() else "# Distributed scoring and training\n\n"
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
