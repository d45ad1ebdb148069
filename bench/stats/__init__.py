"""Statistics for comparisons: paired bootstrap intervals, sign-flip permutation tests, Holm adjustment,
and resampled intervals for set-level metrics (FID, KID, CMMD)."""
