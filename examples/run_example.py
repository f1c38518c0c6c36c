"""The whole flow on the shipped example data: fit, export, score new texts, report.

Fits the default encoder twice (topic: classification; stress rating: regression),
writes both model bundles under ./example_models/, scores three new answers with the
ONNX bundles (no torch needed for that step) and prints the test metrics with 95% CIs.

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


def main() -> None:
    data = example_data()
    print(f"example data: {len(data)} answers; columns {list(data.columns)}\n")
    for outcome in ("topic", "stress"):
        fit = fit_text_model(data, text="answer", outcome=outcome, output_dir=OUT / outcome,
                             overwrite=True)
        print(fit, "\n")
        print(fit.history.round(3).to_string(index=False), "\n")
    topic, stress = load_model(OUT / "topic"), load_model(OUT / "stress")
    scores = predict_scores(topic, NEW).round(3)
    scores.insert(1, "stress", predict_scores(stress, NEW).predicted.round(1))
    scores.insert(0, "answer", [t[:45] + "..." for t in NEW])
    print("new answers, scored with the ONNX bundles:")
    print(scores.to_string(index=False))


if __name__ == "__main__":
    main()
