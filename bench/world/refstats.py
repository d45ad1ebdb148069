"""python -m bench.world.refstats: reference statistics 'world' (every drawn scene) for FID, KID and CMMD."""

from __future__ import annotations


def main() -> None:
    """Build the world's reference statistics once (a no-op when they exist) and say where they are."""
    import logging

    from bench.instruments.refstats import find_refstats
    from bench.world.demo import REFSTATS, build_world_refstats
    from bench.world.features import EXTRACTOR

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build_world_refstats()
    logging.getLogger(__name__).info("reference statistics '%s': %s", REFSTATS,
                                     find_refstats(REFSTATS, "clean", EXTRACTOR, 32))


if __name__ == "__main__":
    main()
