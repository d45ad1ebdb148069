"""Scoring one run folder (or a folder of outside images) into scores/ and summary.json, keeping and
publishing results, checking judges, and suites of runs.

May import: bench.stats, bench.metrics, bench.instruments, bench.generation, bench.prompts, bench.models,
bench.core.
Add here: a new way to score (beside score_folder.py, fid_folders.py); a metric goes in bench.metrics, a
judge in bench.instruments.
"""
