"""A toy world of drawn objects where every stage of the benchmark runs on a CPU and its numbers mean something."""
