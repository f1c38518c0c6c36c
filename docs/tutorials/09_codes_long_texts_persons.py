"""
Several codes per text, long texts, several texts per person
============================================================

Content coding gives one text several codes; essays and interviews run longer than the
encoder reads at once; and a trait belongs to the person who wrote several texts.
"""

# %%
import tempfile
import textwrap

import numpy as np

from pytext_psych import example_data, explain, fit_text_model, predict_scores

out = tempfile.mkdtemp()
small = dict(epochs=2, max_length=32, n_resamples=500, progress=False, export="fp32", strategy="full")

# %%
# **Several codes per text.** Each answer keeps its topic and, when its stress rating is 6
# or more, the code "strained"; codes in one column are separated by ``;``.
answers = example_data()
answers["codes"] = answers["topic"] + np.where(answers["stress"] >= 6, "; strained", "")
codes = fit_text_model(answers, "answer", "codes", task="multilabel", output_dir=f"{out}/codes", **small)
print(textwrap.fill(codes.report().text, 100))

# %%
# Each code is predicted from the threshold that gave it the best F1 on the dev texts;
# ``interval=`` adds ``code_set``, the codes that hold all of a text's codes in 90% of texts.
predict_scores(codes, ["My boss keeps adding work and I cannot sleep"], interval=0.9, check_shift=False).filter(
    regex="^predicted_|code_set")

# %%
# Which words made each code more likely:
words = explain(codes, ["My boss keeps adding work and I cannot sleep"])
words.loc[words.groupby("target").attribution.idxmax(), ["target", "word", "attribution"]]

# %%
# **Several texts per person, long texts.** The second example data set has five essays by
# each of 100 writers (60 of them here). ``person="writer"`` splits by writer and adds the metrics per writer,
# each writer's score from all their essays. Essays longer than 32 tokens are read in
# overlapping windows whose outputs are averaged; the repr says how many.
essays = example_data("empathy")
essays = essays[essays.writer.isin(essays.writer.unique()[:60])]  # 60 of the 100 writers: a faster build
essays["trait"] = essays.groupby("writer").empathy.transform("mean")
by_writer = fit_text_model(essays, "essay", "trait", person="writer", output_dir=f"{out}/writers", **small)
by_writer

# %%
# New essays, one row per writer with the number of essays behind the score:
predict_scores(by_writer, essays.head(10), text="essay", person="writer")

# %%
# Full size: on Empathic Reactions (372 writers, 5 essays each) averaging each writer's essay
# scores reached r .40 [.23, .57] per writer, against .22 [.00, .42] for one model of the
# essays joined; on 1,000 RWWD answers read 64 tokens at a time, windows and truncation gave
# the same r (``benchmarks/results/texts_and_persons.md``).
