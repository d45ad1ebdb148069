"""Models: base pipelines, student encoders, the PEA adapter and its checkpoint format, translators,
text-to-image systems, offline tokenizers and the tiny offline zoo.

May import: bench.core.
Add here: a base (bases.py), a student encoder (encoders.py), a system (pipelines.py, or a plug-in's
SYSTEMS.register_lazy), a translator (translators.py), a tiny zoo component (zoo/).
"""
