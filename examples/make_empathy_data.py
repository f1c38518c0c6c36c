"""Write the real example data set shipped with pytext-psych: 500 essays of Empathic Reactions.

Buechel, Buffone, Slaff, Ungar & Sedoc (2018), "Modeling Empathy and Distress in Reaction to
News Stories", EMNLP 2018; https://github.com/wwbp/empathic_reactions; CC BY 4.0 (attribution
in pytext_psych/resources/EMPATHY_DATA.md). Crowdworkers read a news story about harm to
someone, wrote a short essay on their reaction and rated their own empathic concern and
personal distress (1-7). Each wrote 5 essays; 100 writers drawn at random (seed 42) keep all
their essays, so a split must be grouped by ``writer``.

Run: ``python examples/make_empathy_data.py`` (needs ../shared/data/empathic_reactions;
rewrites pytext_psych/resources/empathy_essays.csv).
"""

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "empathic_reactions" / "empathic_reactions.csv"
OUT = ROOT / "pytext_psych" / "resources" / "empathy_essays.csv"


def main() -> None:
    df = pd.read_csv(SOURCE)
    writers = np.random.default_rng(42).choice(sorted(df.response_id.unique()), 100, replace=False)
    keep = df[df.response_id.isin(writers)].sort_values("message_id")
    ids = {w: f"w{i + 1:03d}" for i, w in enumerate(sorted(writers))}
    out = pd.DataFrame({"writer": keep.response_id.map(ids), "essay": keep.essay.str.strip(),
                        "empathy": keep.empathy.round(3), "distress": keep.distress.round(3)})
    out.to_csv(OUT, index=False)
    print(f"{len(out)} essays of {out.writer.nunique()} writers -> {OUT}")


if __name__ == "__main__":
    main()
