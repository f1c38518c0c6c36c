"""A small all-mpnet-base-v2 bundle for ``bench_scoring.py`` (scoring speed and parity of a
base-size encoder, not its accuracy): ``model="mpnet-base"`` on 400 random RWWD rows
(Real World Worry Dataset, Kleinberg et al., 2020; ``../shared/data/rwwd``), ``text_long`` ->
anxiety, 1 epoch, ``max_length=128``, bf16, learning rate 2e-5. About 7 minutes on 2 cores of
a Xeon with AMX.

Run: ``python benchmarks/fit_mpnet_bundle.py benchmarks/models/mpnet_rwwd400``, then
``python benchmarks/bench_scoring.py --bundle benchmarks/models/mpnet_rwwd400 --n-texts 300
--repeats 2 --stream-rows 0 --no-install-sizes --out <file>``.
"""

import sys
import warnings

import pandas as pd

from bench_scoring import RWWD
from pytext_psych import fit_text_model

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    rows = pd.read_csv(RWWD).sample(400, random_state=42)
    fit = fit_text_model(rows, text="text_long", outcome="anxiety", model="mpnet-base", mixed_precision="bf16",
                         learning_rate=2e-5, epochs=1, max_length=128, baseline=False, progress=False,
                         output_dir=sys.argv[1], overwrite=True, seed=42)
    print(fit.metrics)
