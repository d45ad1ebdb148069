"""What every reward judge offers: score(images, texts), one float per pair, in batches; truncation counted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.core.errors import BenchError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

BATCH_SIZE = 16


class EmbeddingReward:
    """A reward that is scale x cos(image, text) of unit-norm embeddings (PickScore, HPS): the image
    embeddings a run caches per judge serve it too. Mixed into a class with encode_images / encode_texts."""

    scale: float = 1.0
    embeds = True

    def scores_from_embeddings(self, image_emb, text_emb) -> np.ndarray:
        """Row-wise scale x cos of unit-norm embeddings (float64)."""
        import numpy as np

        cos = np.sum(np.asarray(image_emb, np.float64) * np.asarray(text_emb, np.float64), axis=1)
        return self.scale * cos

    def score(self, images: Sequence, texts: Sequence[str]) -> np.ndarray:
        """The reward of each (image, text) pair."""
        check_pairs(images, texts)
        text_emb, _ = self.encode_texts(list(texts))  # type: ignore[attr-defined]
        return self.scores_from_embeddings(self.encode_images(list(images)), text_emb)  # type: ignore[attr-defined]


def check_pairs(images: Sequence, texts: Sequence[str]) -> None:
    """Pairs come as two lists of the same length."""
    if len(images) != len(texts):
        raise BenchError(f"a reward judge scores (image, text) pairs: got {len(images)} images and "
                         f"{len(texts)} texts")


def warn_truncated(name: str, flags: Sequence[bool], context: int) -> int:
    """Log how many texts the judge cuts to its context; return the count."""
    truncated = int(sum(flags))
    if truncated:
        log.warning("judge %s: %d of %d texts longer than %d tokens were truncated", name, truncated, len(flags),
                    context)
    return truncated


def weights_file(model_id: str, names: Sequence[str], what: str) -> str:
    """The first of `names` in a local folder or the hub snapshot of `model_id` (a file path passes through);
    offline, a missing file is one line naming it."""
    from pathlib import Path

    from bench.core.errors import NotAvailableOffline
    from bench.models.weights import load_path

    path = Path(model_id)
    if path.is_file():
        return str(path)
    for name in names:
        folder = Path(load_path(model_id, probe=name))
        if (folder / name).is_file():
            return str(folder / name)
    raise NotAvailableOffline(f"{what} weights {' or '.join(names)} of '{model_id}' are not available offline: "
                              f"download them where the hub is reachable (huggingface-cli download {model_id} "
                              f"{names[0]}) or pass a local folder that holds one")


def read_state_dict(file: str) -> dict:
    """A state dict from safetensors, or from a torch file with weights_only=True (no pickled code runs)."""
    import torch

    if file.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(file)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling error names the refused global
        raise BenchError(f"{file} is not a plain tensor checkpoint (torch.load weights_only=True refused it: "
                         f"{str(exc).splitlines()[0]})") from None
    return state.get("state_dict", state) if isinstance(state, dict) else state
