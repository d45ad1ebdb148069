"""Models: student encoders, the PEA adapter, text-to-image systems and the tiny offline zoo."""
