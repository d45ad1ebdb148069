"""PEA training: corpus pairs, cached frozen inputs, the distillation loop, recipes, checkpoints.

May import: bench.corpus, bench.models, bench.core (not bench.generation: the two stages are siblings).
Add here: a loss term (losses.py), a recipe (recipes.py), a hook on the UNet (hooks.py).
"""
