"""Statistics for comparisons: paired bootstrap intervals, sign-flip permutation tests, Holm adjustment,
and resampled intervals for set-level metrics (FID, KID, CMMD).

May import: bench.metrics (set-level metrics recomputed under resampling), bench.instruments,
bench.generation, bench.core.
Add here: a new test or interval, with its hand-worked case in tests/test_stats.py.
"""
