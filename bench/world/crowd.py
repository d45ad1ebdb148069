"""The toy world's exact reader for the simulated crowd (bench.human.crowd.ORACLES entry "world")."""

from __future__ import annotations

from bench.world import analyser, captions


class WorldReader:
    """Parses world captions and reads drawn images back with the exact analyser."""

    def parse(self, text_en: str):
        """The scene an English world caption states, None for any other text."""
        return captions.parse(text_en, "en")

    def read(self, image) -> analyser.Reading:
        """What the analyser sees in an RGB PIL image."""
        return analyser.analyse(image)

    def hits(self, reading: analyser.Reading, scene) -> int:
        """How many of the scene's attributes the image shows."""
        return sum(analyser.score(reading, scene).values())


READER = WorldReader()
