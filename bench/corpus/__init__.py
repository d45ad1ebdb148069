"""Parallel caption corpora: sources, filters, the sharded build, image fetching and the corpus folder.

May import: bench.prompts, bench.models (translators), bench.core.
Add here: a caption source (sources.py, or a plug-in's SOURCES), a filter (filters.py), a public corpus's
reader (public_corpora.py).
"""
