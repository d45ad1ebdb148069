"""Read a world image back into attributes: exact on drawn images, robust to the grain of generated ones.

A 3x3 median filter removes grain; the largest foreground blob gives the position (its centroid's quadrant)
and the colour (nearest palette colour to its median pixel); the object and its size come from the nearest
drawn template at that position, filtered the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bench.world import draw

FOREGROUND_DISTANCE = 60.0  # RGB distance from the background above which a pixel is ink


@dataclass(frozen=True)
class Reading:
    """What the analyser saw; None where it saw nothing."""

    object: str | None
    colour: str | None
    size: str | None
    position: str | None

    def as_dict(self) -> dict[str, str | None]:
        """The reading as attribute -> value."""
        return {"object": self.object, "colour": self.colour, "size": self.size, "position": self.position}


def _median(img: np.ndarray) -> np.ndarray:
    from scipy.ndimage import median_filter

    return median_filter(img.astype(np.float32), size=(3, 3, 1), mode="nearest")


def to_array(image) -> np.ndarray:
    """A PIL image or array as SIZE x SIZE x 3 uint8 (box-downscaled if it is larger)."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    image = image.convert("RGB")
    if image.size != (draw.SIZE, draw.SIZE):
        image = image.resize((draw.SIZE, draw.SIZE), Image.BOX)
    return np.asarray(image)


@functools.cache
def _templates() -> dict[tuple[str, str | None], tuple[list[draw.Scene], np.ndarray]]:
    """Median-filtered drawings of every scene without jitter, keyed by (position, colour or None for culture)."""
    groups: dict[tuple[str, str | None], list[draw.Scene]] = {}
    for scene in draw.all_scenes(jitter=True):
        groups.setdefault((scene.position, scene.colour), []).append(scene)
    return {key: (scenes, np.stack([_median(draw.draw(s)).reshape(-1) for s in scenes]))
            for key, scenes in groups.items()}


_PALETTE_NAMES = list(draw.COLOURS)
_PALETTE = np.array([draw.COLOURS[c] for c in _PALETTE_NAMES], np.float32)
_BG = np.array(draw.BACKGROUND, np.float32)


def analyse(image) -> Reading:
    """Read object, colour, size and position from one image."""
    from scipy import ndimage

    img = _median(to_array(image))
    ink = np.linalg.norm(img - _BG, axis=-1) > FOREGROUND_DISTANCE
    labels, count = ndimage.label(ink, structure=np.ones((3, 3)))
    if count == 0:
        return Reading(None, None, None, None)
    sizes = np.bincount(labels.ravel())[1:]
    blob = labels == (1 + int(np.argmax(sizes)))
    ys, xs = np.nonzero(blob)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
    half = draw.SIZE / 2
    position = f"{'top' if cy < half else 'bottom'} {'left' if cx < half else 'right'}"
    median_rgb = np.median(img[blob], axis=0)
    colour = _PALETTE_NAMES[int(np.argmin(np.linalg.norm(_PALETTE - median_rgb, axis=-1)))]
    flat = img.reshape(-1)
    best, best_d = None, np.inf
    for key in ((position, colour), (position, None)):
        scenes, stack = _templates()[key]
        d = np.square(stack - flat).mean(axis=1)
        i = int(np.argmin(d))
        if d[i] < best_d:
            best, best_d = scenes[i], d[i]
    if best.is_culture:
        return Reading(best.kind, None, None, position)
    return Reading(best.kind, colour, best.size, position)


def score(reading: Reading, scene: draw.Scene) -> dict[str, bool]:
    """Per stated attribute of `scene`, whether the reading got it right."""
    got = reading.as_dict()
    return {attr: got[attr] == value for attr, value in scene.attributes().items()}
