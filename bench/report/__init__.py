"""Results -> reports/: the leaderboard (markdown, paired sections, human tables), image grids, the gaps
plot, and CSV/JSON exports.

May import: bench.human, bench.stats, bench.metrics, bench.prompts, bench.core (it reads result files,
never a model).
Add here: a leaderboard section (leaderboard.py or paired.py), an export format (export.py).
"""
