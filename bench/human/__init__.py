"""Pairwise human evaluation: studies, annotators, tasks, votes (SQLite), Bradley-Terry rankings, agreement.

May import: bench.generation (run folders), bench.core.
Add here: a new task type (tasks.py), a crowd reader (crowd.py READERS).
"""
