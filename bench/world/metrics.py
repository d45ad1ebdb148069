"""World accuracy: the exact analyser reads each image back and checks the attributes its prompt states."""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, bootstrap_ci, mean

ANALYSER_VERSION = 1  # bump when the analyser's reading changes


class WorldAccuracy(Metric):
    """Share of stated attributes (object, colour, size, position) the analyser reads back, per image averaged."""

    name = "world-accuracy"
    higher_is_better = True
    needs = ()
    display = "world accuracy"

    def applicable(self, ctx) -> str | None:
        from bench.world.captions import parse

        bad = [row["prompt_id"] for row in ctx.rows if parse(row.get("text_en") or "", "en") is None]
        if bad:
            return f"prompts {bad[:3]} are not toy-world captions (use a world-* prompt set)"
        return None

    def settings(self, ctx) -> dict:
        return {"analyser": ANALYSER_VERSION}

    def compute(self, ctx) -> MetricResult:
        from bench.world import accuracy, analyser
        from bench.world.captions import parse

        rows, values, groups, hits = [], [], [], []
        for i, row in enumerate(ctx.rows):
            scene = parse(row["text_en"], "en")
            reading = analyser.analyse(_open(ctx.files[i]))
            hit = analyser.score(reading, scene)
            hits.append(hit)
            value = sum(hit.values()) / len(hit)
            values.append(value)
            groups.append(row["prompt_id"])
            rows.append(ctx.base_row(i) | {"value": value, "all_correct": all(hit.values()),
                                           **{f"read_{k}": v for k, v in reading.as_dict().items()},
                                           **{f"ok_{k}": v for k, v in hit.items()}})
        per_attribute = accuracy.summarise(hits)
        return MetricResult(value=mean(values), n=len(rows), ci=bootstrap_ci(values, groups), rows=rows,
                            extra={"per_attribute": per_attribute, "chance": accuracy.chance()})


WORLD_ACCURACY = WorldAccuracy()  # registered by bench.world.plugins


def _open(path):
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")
