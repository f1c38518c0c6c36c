"""
What the model learned, and whether it still applies
====================================================

Which words moved a score, which words go with the outcome in the data, and which new
texts are unlike the training texts.
"""

# %%
import tempfile

from pytext_psych import example_data, explain, fit_text_model, language_analysis, plot_language, predict_scores

answers = example_data()
fit = fit_text_model(answers, "answer", "stress", epochs=2, max_length=32, n_resamples=500, progress=False,
                     baseline=False, strategy="full", export="fp32", output_dir=tempfile.mkdtemp() + "/stress")

# %%
# ``explain`` leaves each word out in turn and scores the text again through the bundle: a
# word's attribution is how much the score drops without it.
words = explain(fit, ["I cannot sleep for worrying about the rent and my boss keeps shouting"])
words.sort_values("attribution", ascending=False).head(5)

# %%
# Differential language analysis: which words and phrases go with the rating across all
# answers, with Fisher-z CIs and Benjamini-Hochberg corrected p values.
dla = language_analysis(answers, "answer", "stress")
dla.head(8)

# %%
saved = plot_language(dla, "language_stress.png", top=15)

# %%
# The shift check: ``unusual`` marks texts unlike the training texts (in length, in how the
# tokenizer cuts their words, or in the model's response), calibrated so that about 5% of
# texts like the dev texts are flagged. When clearly more of a call's texts are, one warning
# says what set them apart.
predict_scores(fit, ["Work has been stressful this month.",
                     "Die Arbeit war diesen Monat sehr anstrengend und ich schlafe schlecht."])

# %%
# Full size: the occlusion attributions agree with integrated gradients on the PyTorch model
# (mean Spearman .57 over five texts, ``tests/test_explain.py``).
