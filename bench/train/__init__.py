"""PEA training: corpus pairs, cached frozen inputs, the distillation loop, checkpoints."""
