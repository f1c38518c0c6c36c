"""
Scoring on a laptop, and on a cluster
=====================================

A fitted model is a folder (a bundle) that scores with onnxruntime alone: ``pip install
pytext-psych`` without ``[train]`` is enough. Every text is scored on its own, so a text's
score never depends on the other texts, their order or the chunking.
"""

# %%
import tempfile
from pathlib import Path

from pytext_psych import example_data, fit_text_model, load_model, predict_scores, write_scores

answers = example_data()
out = Path(tempfile.mkdtemp())
fit_text_model(answers, "answer", "topic", epochs=2, max_length=32, n_resamples=500, progress=False,
               baseline=False, strategy="full", output_dir=out / "topics")
model = load_model(out / "topics")  # verifies every file against bundle.json first
model

# %%
# The bundle holds an fp32 and an int8 ONNX graph, both checked against PyTorch on the dev
# texts when it was written; ``precision="auto"`` uses int8 where it loses at most .01.
model.description.parity["int8"]

# %%
# Same text, same score: alone, or among other texts in another order.
alone = predict_scores(model, ["My landlord wants the rent tomorrow"], check_shift=False)
among = predict_scores(model, ["Work is piling up", "My landlord wants the rent tomorrow"], check_shift=False)
alone.iloc[0].equals(among.iloc[1])

# %%
# A file of any size streams in chunks with bounded memory:
answers.to_csv(out / "new_answers.csv", index=False)
write_scores(model, out / "new_answers.csv", out / "scores.csv", text="answer", progress=False)
open(out / "scores.csv").read().splitlines()[:3]

# %%
# On a Dask cluster (``pip install "pytext-psych[dask]"``): without a ``scheduler`` a local
# cluster of one process per core; each worker verifies the bundle once and scores its
# partitions with the same code, so the scores are identical. ``out`` appears only once
# every partition is written.
from pytext_psych import predict_scores_distributed

predict_scores_distributed(out / "topics", out / "new_answers.csv", "answer", out=out / "scores_dask", workers=2,
                           progress=False)
sorted(p.name for p in (out / "scores_dask").iterdir())[:3]

# %%
# Full size: on 2 cores of an Intel Xeon, int8 scores 4.4 times as many long survey
# answers per second as PyTorch eager (``benchmarks/results/scoring.md``); the measured
# overhead of the Dask path is in ``benchmarks/results/distributed.md``.
