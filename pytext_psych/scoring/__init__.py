"""Scoring with a bundle, torch-free: the bundle folder and its verified manifest
(:mod:`.bundle`), the ONNX model that scores texts (:mod:`.infer`) with its batch plan
(:mod:`.plan`) and session options (:mod:`.sessions`), scoring and writing
scores with their settings (:mod:`.predict`), outputs as data frames (:mod:`.frames`),
reading input in chunks (:mod:`.streams`), the shift check (:mod:`.shift`), explanations
(:mod:`.explain`) and scoring on a cluster (:mod:`.distributed`). Nothing here may reach
torch, transformers or any other training library, directly or through another module: a
laptop scores with onnxruntime alone.

May import: core, stats, data.
"""
