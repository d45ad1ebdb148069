"""The world's scenes and their pixels: one object on a plain background, drawn exactly from its attributes."""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass

import numpy as np

SIZE = 32  # image side in pixels
BACKGROUND = (245, 245, 245)

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 200, 30),
    "purple": (150, 60, 190),
    "cyan": (30, 190, 200),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZES: dict[str, int] = {"small": 11, "large": 15}  # object extent in pixels
# Quadrant centres (x, y); an object's centre may move JITTER pixels either way.
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (8, 8), "top right": (24, 8), "bottom left": (8, 24), "bottom right": (24, 24),
}
JITTER = 1

# Culture objects: a fixed multi-colour look, always large; each belongs to one language's culture.
CULTURE: dict[str, str] = {"lantern": "zh", "taegeuk": "ko", "torii": "ja", "matryoshka": "ru", "pizza": "it"}
KINDS = SHAPES + tuple(CULTURE)

_INK = {
    "red": (220, 40, 40), "yellow": (240, 200, 30), "blue": (40, 80, 220), "black": (30, 30, 30),
    "skin": (240, 190, 150), "crust": (200, 120, 40), "cheese": (250, 215, 90),
}


@dataclass(frozen=True)
class Scene:
    """One object: a plain shape (with colour and size) or a culture object (its own colours, large)."""

    kind: str  # a shape or a culture object
    position: str
    colour: str | None = None  # None for culture objects
    size: str = "large"
    dx: int = 0  # jitter of the centre in pixels
    dy: int = 0

    @property
    def is_culture(self) -> bool:
        """True for culture objects, whose look is fixed."""
        return self.kind in CULTURE

    def attributes(self) -> dict[str, str]:
        """The attributes a caption states and the analyser reads back."""
        if self.is_culture:
            return {"object": self.kind, "position": self.position}
        return {"object": self.kind, "colour": self.colour, "size": self.size, "position": self.position}


def all_scenes(culture: bool = True, jitter: bool = True) -> list[Scene]:
    """Every distinct scene of the world in a fixed order (with every jitter unless jitter=False)."""
    offsets = list(itertools.product(range(-JITTER, JITTER + 1), repeat=2)) if jitter else [(0, 0)]
    scenes = [
        Scene(shape, pos, colour, size, dx, dy)
        for shape, colour, size, pos, (dx, dy) in itertools.product(SHAPES, COLOURS, SIZES, POSITIONS, offsets)
    ]
    if culture:
        scenes += [Scene(kind, pos, None, "large", dx, dy) for kind, pos, (dx, dy) in
                   itertools.product(CULTURE, POSITIONS, offsets)]
    return scenes


def random_scene(rng: random.Random, culture_share: float = 0.25) -> Scene:
    """Draw a scene's attributes from `rng` (a culture object with probability culture_share)."""
    dx, dy = rng.randint(-JITTER, JITTER), rng.randint(-JITTER, JITTER)
    position = rng.choice(list(POSITIONS))
    if rng.random() < culture_share:
        return Scene(rng.choice(list(CULTURE)), position, None, "large", dx, dy)
    return Scene(rng.choice(SHAPES), position, rng.choice(list(COLOURS)), rng.choice(list(SIZES)), dx, dy)


def scene_for_seed(seed: int, culture_share: float = 0.25) -> Scene:
    """The scene that `seed` stands for; the same seed always gives the same scene."""
    return random_scene(random.Random(seed), culture_share)


@functools.cache
def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y), each SIZE x SIZE."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    return xs, ys


def shape_mask(shape: str, cx: float, cy: float, extent: float) -> np.ndarray:
    """Boolean mask of a plain shape of `extent` pixels centred at (cx, cy)."""
    xs, ys = _grid()
    u, v, h = xs - cx, ys - cy, extent / 2
    if shape == "circle":
        return u * u + v * v <= h * h
    if shape == "square":
        side = 0.86 * h  # about the circle's area, so size reads the same for every shape
        return (np.abs(u) <= side) & (np.abs(v) <= side)
    if shape == "triangle":
        # Apex up; the half-width grows linearly from the apex to the base.
        t = (v + h) / (2 * h)
        return (t >= 0) & (t <= 1) & (np.abs(u) <= t * h)
    if shape == "cross":
        arm = h / 3
        return ((np.abs(u) <= arm) & (np.abs(v) <= h)) | ((np.abs(v) <= arm) & (np.abs(u) <= h))
    raise ValueError(f"unknown shape {shape!r}")


def _culture_layers(kind: str, cx: float, cy: float, extent: float) -> list[tuple[np.ndarray, str]]:
    """(mask, ink) layers painted in order for a culture object."""
    xs, ys = _grid()
    u, v, h = xs - cx, ys - cy, extent / 2
    if kind == "lantern":  # red paper body with yellow caps and a yellow middle band
        body = (u / (0.8 * h)) ** 2 + (v / h) ** 2 <= 1
        caps = body & ((np.abs(v) >= 0.7 * h) | (np.abs(v) <= 0.12 * h))
        return [(body, "red"), (caps, "yellow")]
    if kind == "taegeuk":  # red over blue, split by a wave
        disc = u * u + v * v <= h * h
        upper = v < 0.35 * h * np.sin(np.pi * u / h)
        return [(disc, "blue"), (disc & upper, "red")]
    if kind == "torii":  # two red posts under a black top beam and a red tie beam
        posts = (np.abs(np.abs(u) - 0.55 * h) <= 0.14 * h) & (v >= -0.7 * h) & (v <= h)
        beam = (np.abs(u) <= h) & (v >= -h) & (v <= -0.72 * h)
        tie = (np.abs(u) <= 0.8 * h) & (np.abs(v + 0.35 * h) <= 0.12 * h)
        return [(posts | tie, "red"), (beam, "black")]
    if kind == "matryoshka":  # a red doll: small head on a large body, with a face
        head = u * u + (v + 0.55 * h) ** 2 <= (0.45 * h) ** 2
        body = (u / (0.7 * h)) ** 2 + ((v - 0.35 * h) / (0.65 * h)) ** 2 <= 1
        face = u * u + (v + 0.55 * h) ** 2 <= (0.28 * h) ** 2
        return [(head | body, "red"), (face, "skin")]
    if kind == "pizza":  # crust ring, cheese, three red slices of pepperoni
        disc = u * u + v * v <= h * h
        cheese = u * u + v * v <= (0.75 * h) ** 2
        dots = np.zeros_like(disc)
        for ang in (0.3, 2.4, 4.3):
            px, py = 0.4 * h * np.cos(ang), 0.4 * h * np.sin(ang)
            dots |= (u - px) ** 2 + (v - py) ** 2 <= (0.2 * h) ** 2
        return [(disc, "crust"), (cheese, "cheese"), (dots, "red")]
    raise ValueError(f"unknown culture object {kind!r}")


def layers(scene: Scene) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    """The scene's (mask, rgb) layers, painted in order over the background."""
    x0, y0 = POSITIONS[scene.position]
    cx, cy, extent = x0 + scene.dx, y0 + scene.dy, SIZES[scene.size]
    if scene.is_culture:
        return [(m, _INK[ink]) for m, ink in _culture_layers(scene.kind, cx, cy, extent)]
    return [(shape_mask(scene.kind, cx, cy, extent), COLOURS[scene.colour])]


def draw(scene: Scene) -> np.ndarray:
    """The scene as a SIZE x SIZE x 3 uint8 array."""
    img = np.empty((SIZE, SIZE, 3), np.uint8)
    img[:] = BACKGROUND
    for mask, rgb in layers(scene):
        img[mask] = rgb
    return img


def draw_pil(scene: Scene):
    """The scene as a PIL image."""
    from PIL import Image

    return Image.fromarray(draw(scene))
