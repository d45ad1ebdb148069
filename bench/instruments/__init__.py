"""What metrics measure with: judge models (CLIP-family and others), feature extractors with the real
Inception, the feature cache of a run, and reference statistics.

May import: bench.generation (run folders), bench.models, bench.core.
Add here: a judge (judges.py JUDGES, or a plug-in's), a feature extractor (features.py EXTRACTORS),
reference statistics of a new kind (refstats.py).
"""
