"""A toy world of drawn objects where every stage of the benchmark runs on a CPU and its numbers mean something.

A plug-in (entry point pea_bench.plugins: world = bench.world.plugins); nothing outside it imports it.
May import: every stage below bench.report, and bench.demo's DEMOS registry to add its demo stage.
Add here: a toy-world component, registered in plugins.py.
"""
