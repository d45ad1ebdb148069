"""The foundation every stage stands on: paths (the one on-disk layout), config (frozen settings and their
hash), registry and plugins, errors, hashing, provenance, runtime (device, dtype, ranks), progress bars,
quieting third-party output, the language table and language identification.

May import: nothing else of bench (the bottom layer; import-linter checks it).
Add here: only what two or more stages need and what knows nothing of any stage. A new language is a row
in languages.py.
"""
