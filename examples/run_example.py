"""The whole flow on the shipped example data: fit, export, score new texts, report.

Fits the default encoder twice (topic: classification; stress rating: regression),
writes both model bundles under ./example_models/ (with an APA-style report and figures),
scores three new answers with the ONNX bundles (no torch needed for that step), with
90% conformal intervals / prediction sets, and prints the reports.

Run: python examples/run_example.py
"""

from pathlib import Path

from pytext_psych import example_data, fit_text_model, load_model, predict_scores

OUT = Path("example_models")
NEW = [
    "My boss moved every deadline forward and I am at breaking point.",
    "Nothing dramatic, mostly the rent going up again.",
    "Since my friends moved away I have nobody to talk to at the weekends.",
]


# outcome: (example data set, text column, options). "empathy" is real: essays from Empathic
# Reactions (Buechel et al., 2018, CC BY 4.0), 5 per writer, so the split is grouped by writer.
FITS = {"topic": ("stress", "answer", {}), "stress": ("stress", "answer", {}),
        "empathy": ("empathy", "essay", {"group": "writer"})}


def main() -> None:
    for outcome, (name, text, options) in FITS.items():
        data = example_data(name)
        print(f"example data '{name}': {len(data)} texts; columns {list(data.columns)}\n")
        fit = fit_text_model(data, text=text, outcome=outcome, output_dir=OUT / outcome,
                             overwrite=True, **options)
        print(fit, "\n")
        print(fit.history.round(3).to_string(index=False), "\n")
        report = fit.report()
        print(report, "\n")
        (OUT / f"{outcome}_report.md").write_text(report.to_markdown())
        fit.plot(OUT / f"{outcome}_figures.png")
    topic, stress = load_model(OUT / "topic"), load_model(OUT / "stress")
    scores = predict_scores(topic, NEW, interval=0.9).round(3)
    rated = predict_scores(stress, NEW, interval=0.9).round(1)
    scores.insert(1, "stress", rated.predicted)
    scores.insert(2, "stress 90% interval", [f"[{lo}, {hi}]" for lo, hi in zip(rated.lower, rated.upper)])
    scores.insert(0, "answer", [t[:45] + "..." for t in NEW])
    print("new answers, scored with the ONNX bundles:")
    print(scores.to_string(index=False))
    print(f"\nreports and figures: {OUT}/*_report.md, {OUT}/*_figures.png")


if __name__ == "__main__":
    main()
