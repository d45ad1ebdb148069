"""pea-bench: take an English text-to-image model to other languages with a PEA adapter, and measure it."""

__version__ = "0.1.0"


def load_pipeline(name: str, **kwargs):
    """Return a diffusers pipeline for a registered system that takes native-language prompts."""
    from bench.models.loading import load_pipeline as _load

    return _load(name, **kwargs)
