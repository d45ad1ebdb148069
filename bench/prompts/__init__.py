"""Prompt sets as data: general and culture prompts per language, concept tables, loaders, validator, and
the context-length report.

May import: bench.models (tokenizers), bench.core.
Add here: a prompt set is data (prompts/<set>/<lang>.jsonl + set.toml), not code; a public set's reader
goes in public_sets.py.
"""

from bench.prompts.load import (
    has_concepts,
    list_prompt_sets,
    load_concepts,
    load_prompt_set,
    load_set_info,
    reference_images_dir,
)
from bench.prompts.schema import Checks, Concept, Prompt, PromptSet, SetInfo

__all__ = [
    "Checks",
    "Concept",
    "Prompt",
    "PromptSet",
    "SetInfo",
    "has_concepts",
    "list_prompt_sets",
    "load_concepts",
    "load_prompt_set",
    "load_set_info",
    "reference_images_dir",
]
