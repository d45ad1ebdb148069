"""Pairwise human evaluation: studies, annotators, tasks, votes (SQLite), Bradley-Terry rankings, agreement."""
