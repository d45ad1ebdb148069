"""Parallel caption corpora: sources, translators, filters, language identification and the sharded build."""
