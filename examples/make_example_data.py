"""Write the example data set shipped with pytext-psych (synthetic survey answers).

Survey item imagined: "What has been the main source of stress for you in the past month,
and how are you coping?" Each answer has a hand-coded ``topic`` (5 classes) and a ``stress``
rating (1-9). Answers are put together from short phrases written for this project: a
topic situation, an intensity phrase that goes with the rating, and sometimes a coping
sentence or a mention of a second topic. The rating is drawn first and the intensity
phrases are drawn from a band around it, so wording and rating agree only loosely, as
they do in real answers.

This is *not* real data: no person wrote these answers, and any result on them says
nothing about people. It exists so the package can be tried, and its tests run, offline.

Run: ``python examples/make_example_data.py`` (rewrites pytext_psych/resources/stress_answers.csv).
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
N = 400
OUT = Path(__file__).resolve().parents[1] / "pytext_psych" / "resources" / "stress_answers.csv"

SITUATIONS = {
    "work": [
        "my manager keeps adding deadlines without asking",
        "we had layoffs at the office and I might be next",
        "I am doing two jobs since a colleague left",
        "the night shifts at the warehouse",
        "a big project at work that keeps slipping",
        "my performance review is coming up",
        "emails from work follow me into the evening",
        "my new boss criticises everything I hand in",
        "the commute to the office and long meetings",
        "I started a new job and still feel out of my depth",
        "my contract ends in two months",
        "customers shouting at me on the phone all day",
    ],
    "family": [
        "my mother moved in with us after her fall",
        "arguments with my partner about the kids",
        "my teenage son has stopped talking to us",
        "looking after my dad who has dementia",
        "my sister and I are fighting over the inheritance",
        "the baby is not sleeping through the night",
        "my parents are getting divorced",
        "planning the wedding with both families",
        "my daughter is being bullied at school",
        "juggling school runs and my partner's shifts",
        "my brother is in trouble again and calls me for help",
        "we are trying for a baby and it is not happening",
    ],
    "health": [
        "waiting for the results of a scan",
        "my back pain has come back",
        "I was diagnosed with diabetes last month",
        "I cannot sleep more than four hours a night",
        "recovering from surgery is taking longer than I hoped",
        "my migraines are getting more frequent",
        "my blood pressure is too high and the tablets make me dizzy",
        "a long covid cough that will not go away",
        "my knee injury means I cannot run any more",
        "the waiting list for my hospital appointment",
        "I keep getting chest pains and the doctor cannot find why",
        "my asthma has been bad since the weather changed",
    ],
    "money": [
        "the rent went up again",
        "I am behind on my credit card payments",
        "energy bills have doubled since last winter",
        "my car broke down and I cannot afford the repair",
        "we are living on one income now",
        "my student loan repayments started",
        "saving for a deposit feels impossible",
        "I had to borrow from my parents to pay the bills",
        "my hours were cut and so was my pay",
        "food prices keep climbing every week",
        "an unexpected tax bill arrived",
        "I do not know how we will pay for Christmas",
    ],
    "social": [
        "I moved to a new city and do not know anyone",
        "my best friend stopped replying to my messages",
        "I feel left out of my friend group",
        "since the breakup I spend most evenings alone",
        "a falling out with my flatmates",
        "everyone at university seems to have their own circle",
        "I get anxious before every party or meeting people",
        "my friends all have kids now and we drifted apart",
        "people in my neighbourhood are unfriendly",
        "I was ghosted after three dates",
        "I have nobody to talk to at the weekends",
        "my online friends are the only people I see",
    ],
}

INTENSITY = {  # stress band -> phrases that open or close the answer
    "low": [
        "Honestly it is a minor thing:",
        "Nothing dramatic, mostly",
        "A bit annoying but manageable:",
        "I am fairly relaxed overall, the only thing is",
        "Not much stress really, just",
        "Small stuff, like",
    ],
    "mid": [
        "It has been a tiring month because of",
        "I have been stressed on and off about",
        "Some weeks are harder than others with",
        "It weighs on me sometimes:",
        "I feel tense when I think about",
        "It is getting to me a little,",
    ],
    "high": [
        "I am completely overwhelmed by",
        "I cannot stop worrying about",
        "Every day I feel panicky because of",
        "It is the worst it has ever been with",
        "I am at breaking point over",
        "I lie awake at night dreading",
    ],
}

COPING = {
    "low": [
        "I go for walks and it helps.",
        "Talking it through with friends keeps it in proportion.",
        "I am sleeping fine and keeping busy.",
    ],
    "mid": [
        "I try to exercise but do not always manage.",
        "Some days I cope, some days I do not.",
        "I have started writing things down to clear my head.",
    ],
    "high": [
        "I do not know how much longer I can keep going like this.",
        "I have stopped eating properly and cry a lot.",
        "I feel like I am falling apart.",
    ],
}

SECOND = {
    "work": "on top of that work is busy",
    "family": "and things at home are not easy either",
    "health": "and my health is not great",
    "money": "and money is tight",
    "social": "and I feel a bit lonely",
}


def band(rating: float) -> str:
    return "low" if rating <= 3.5 else ("mid" if rating <= 6.5 else "high")


def make(n: int = N, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    topics = list(SITUATIONS)
    rows = []
    for i in range(n):
        topic = topics[rng.choice(len(topics), p=[0.26, 0.22, 0.2, 0.18, 0.14])]
        stress = int(rng.choice(np.arange(1, 10), p=[0.04, 0.07, 0.1, 0.12, 0.15, 0.16, 0.15, 0.12, 0.09]))
        worded = band(np.clip(stress + rng.normal(0, 1.3), 1, 9))  # wording follows the rating loosely
        text = f"{rng.choice(INTENSITY[worded])} {rng.choice(SITUATIONS[topic])}"
        if rng.random() < 0.25:
            text += f", {SECOND[rng.choice([t for t in topics if t != topic])]}"
        text += "."
        if rng.random() < 0.6:
            text += " " + rng.choice(COPING[band(np.clip(stress + rng.normal(0, 1.3), 1, 9))])
        rows.append({"id": i + 1, "answer": text, "topic": topic, "stress": stress})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")
