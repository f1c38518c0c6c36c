"""Training, the only layer that imports torch and transformers: loading encoders
(:mod:`.encoders`) and choosing one for ``model="auto"`` (:mod:`.encoder_choice`), the
loops and strategies (:mod:`.train`, :mod:`.epochs`,
:mod:`.frozen`, :mod:`.contrastive`, :mod:`.probe`), helpers for a torch network
(:mod:`.nets`), domain-adaptive pretraining (:mod:`.domain`), checkpoints
(:mod:`.checkpoints`), several processes (:mod:`.parallel`) and the export to ONNX with
its parity check (:mod:`.export`). The package's entry points import it inside the
functions that train, so importing pytext_psych stays torch-free.

May import: core, stats, data, scoring, evaluation.
"""
