"""Throughput measurements on real-size models with random weights (`make gpu-bench`): generation,
distillation, and what each costs per image on a GPU.

May import: every stage below the entry points (it measures them); nothing imports it.
Add here: a new measurement, as a function returning a JSON-able dict, called from gpubench.main.
"""
