"""A comparison as one command: models x prompt sets x languages, from lists or a suite TOML file.

Every cell that applies is generated (what is missing) and evaluated; every cell that does not is listed
with its reason. Progress is kept in .bench/suites/<name>.json after each cell, so a killed suite rerun
skips finished cells (and generation itself resumes image by image). It ends with one table of the cells.

suite.toml:

    name = "zh-comparison"
    models = ["pea-zh", "translate-sdxl", "asis-sdxl", "sdxl-en"]
    prompts = ["general", "culture"]
    langs = ["zh", "ko"]
    publish = false
    [generate]            # bench.generation.GenerateConfig fields (samples, steps, guidance, limit, ...)
    samples = 4
    [evaluate]            # bench.evaluation.evaluate.EvalConfig fields (metrics, refstats, judge, extractor, ...)
    refstats = "coco-512"
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.config import check_keys, from_dict, stable_hash, to_jsonable
from bench.core.errors import BenchError, unknown_name

log = logging.getLogger(__name__)

SUITE_KEYS = {"name", "models", "prompts", "langs", "publish", "generate", "evaluate"}


@dataclass(frozen=True)
class Cell:
    """One (system, prompt set, language) of a suite; `lang` is what the run uses (the oracle may run in en)."""

    model: str
    prompts: str
    lang: str

    @property
    def key(self) -> str:
        return f"{self.model}|{self.prompts}|{self.lang}"


@dataclass(frozen=True)
class Suite:
    """Lists of systems, prompt sets and languages, and the settings every cell shares."""

    name: str
    models: tuple[str, ...]
    prompts: tuple[str, ...]
    langs: tuple[str, ...]
    generate: dict[str, Any] = field(default_factory=dict)  # GenerateConfig fields but model/prompts/lang
    evaluate: Any = None  # an EvalConfig; None = the defaults
    publish: bool = False

    @classmethod
    def from_lists(cls, models, prompts, langs, generate: dict, evaluate, publish: bool = False) -> Suite:
        """The suite `bench evaluate --model a,b --prompts x,y --lang zh,ko` describes (named by its content)."""
        for what, values in (("--model", models), ("--prompts", prompts), ("--lang", langs)):
            if not values:
                raise BenchError(f"a list evaluation needs {what} too (e.g. --model a,b --prompts x --lang zh)")
        suite = cls("", tuple(models), tuple(prompts), tuple(langs), dict(generate), evaluate, publish)
        return dataclasses.replace(suite, name=f"cli-{suite.hash()}")

    @classmethod
    def from_toml(cls, path: Path) -> Suite:
        """Read a suite file; unknown keys are errors with a did-you-mean."""
        from bench.evaluation.evaluate import EvalConfig
        from bench.generation import GenerateConfig

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BenchError(f"suite file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise BenchError(f"{path}: not valid TOML ({exc})") from None
        for key in data:
            if key not in SUITE_KEYS:
                raise unknown_name(f"key in {path}", key, SUITE_KEYS)
        lists = {}
        for key in ("models", "prompts", "langs"):
            value = data.get(key)
            if isinstance(value, str):
                value = [value]
            if not value or not all(isinstance(v, str) for v in value):
                raise BenchError(f"{path}: '{key}' must be a non-empty list of names")
            lists[key] = tuple(value)
        gen = dict(data.get("generate", {}))
        allowed = {f.name for f in dataclasses.fields(GenerateConfig)} - {"model", "prompts", "lang"}
        for key in gen:
            if key not in allowed:
                raise unknown_name(f"key in [generate] of {path}", key, allowed)
        gen = check_keys(GenerateConfig, gen, source=f"[generate] of {path}")
        try:  # the settings' ranges (samples >= 1, finite guidance, ...), as every cell's run will check them
            GenerateConfig(model="-", prompts="-", lang="-", **gen)
        except BenchError as exc:
            raise BenchError(f"[generate] of {path}: {exc}") from None
        evaluate = from_dict(EvalConfig, data.get("evaluate", {}), source=f"[evaluate] of {path}")
        publish = data.get("publish", False)
        if not isinstance(publish, bool):
            raise BenchError(f"{path}: 'publish' must be true or false, got {publish!r}")
        name = paths.safe_id(str(data.get("name") or path.stem), what="suite name")
        return cls(name, lists["models"], lists["prompts"], lists["langs"], gen, evaluate, publish)

    def eval_config(self):
        """The evaluation config of every cell (publishing as the suite says)."""
        from bench.evaluation.evaluate import EvalConfig

        cfg = self.evaluate or EvalConfig()
        return dataclasses.replace(cfg, copy_to_reports=self.publish)

    def hash(self) -> str:
        """Content hash of what the suite computes."""
        return stable_hash({"models": self.models, "prompts": self.prompts, "langs": self.langs,
                            "generate": self.generate, "evaluate": to_jsonable(self.evaluate)}, length=10)


def plan_cells(suite: Suite) -> tuple[list[Cell], list[tuple[Cell, str]]]:
    """(cells to run, [(cell, why not)]); unknown names fail at once, before any work."""
    from bench.models.pipelines import get_system
    from bench.prompts import list_prompt_sets, load_set_info

    sets = list_prompt_sets()
    for name in suite.prompts:
        if name not in sets:
            raise unknown_name("prompt set", name, sets, "bench prompts list shows them")
    from bench.core.languages import get_language

    for lang in suite.langs:
        get_language(lang)
    systems = {m: get_system(m) for m in suite.models}
    run, skipped, seen = [], [], set()
    for model, set_name, lang in itertools.product(suite.models, suite.prompts, suite.langs):
        spec, languages = systems[model], load_set_info(set_name).languages
        cell = Cell(model, set_name, lang)
        if spec.kind == "english" and "en" in languages:
            # The English oracle reads the English pivot, the same for every language: one run, in en.
            cell = Cell(model, set_name, "en")
        if cell.key in seen:
            continue
        seen.add(cell.key)
        why = _why_not(spec, cell, languages)
        if why:
            skipped.append((cell, why))
        else:
            run.append(cell)
    return run, skipped


def check_cells(suite: Suite, cells: list[Cell]) -> dict[str, Any]:
    """Cell key -> what bench.evaluation.preflight found: every cell's plan, judges, extractor and reference
    statistics, checked before any cell generates (the dry run and the real run call this alike)."""
    from bench.evaluation.preflight import check_cell
    from bench.generation import GenerateConfig

    cfg = suite.eval_config()
    checked = {}
    for cell in cells:
        try:
            checked[cell.key] = check_cell(GenerateConfig(model=cell.model, prompts=cell.prompts, lang=cell.lang,
                                                          **suite.generate), cfg)
        except BenchError as exc:
            raise type(exc)(f"{cell.model} | {cell.prompts} | {cell.lang}: {exc}") from None
    return checked


def _why_not(spec, cell: Cell, languages: tuple[str, ...]) -> str | None:
    """Why a cell cannot run here (None when it can)."""
    if cell.lang not in languages:
        return f"prompt set '{cell.prompts}' has no '{cell.lang}' prompts (it has {', '.join(languages)})"
    if not spec.supports(cell.lang):
        takes = ", ".join(spec.languages) if spec.languages else "every language but English"
        return f"'{spec.name}' does not take '{cell.lang}' prompts (it takes {takes})"
    return spec.missing()


def state_path(suite: Suite) -> Path:
    """Where the suite records finished cells: .bench/suites/<name>.json."""
    return paths.suite_state_path(suite.name)


def run_suite(suite: Suite, echo: Callable[[str], Any] = print,
              evaluate_cell: Callable | None = None) -> dict[str, Any]:
    """Run every applicable cell (skipping those a killed run finished) and return the table's data."""
    from bench.evaluation.evaluate import evaluate_run
    from bench.generation import GenerateConfig, generate

    cells, skipped = plan_cells(suite)
    if evaluate_cell is None:
        check_cells(suite, cells)  # a missing judge or statistics file fails now, not after hours of generation
    for cell, why in skipped:
        echo(f"skip {cell.model} | {cell.prompts} | {cell.lang}: {why}")
    suite_hash = suite.hash()
    state_file = state_path(suite)
    paths.clean_temps(state_file.parent, f".{state_file.name}.*.tmp")  # a kill inside the last state write
    state = paths.read_json(state_file) if state_file.is_file() else {}
    if state.get("hash") != suite_hash:
        state = {"hash": suite_hash, "name": suite.name, "cells": {}}
    eval_cfg = suite.eval_config()

    def evaluate_one(cell: Cell) -> dict:
        folder = generate(GenerateConfig(model=cell.model, prompts=cell.prompts, lang=cell.lang, **suite.generate))
        return evaluate_run(folder, eval_cfg)

    evaluate_one = evaluate_cell or evaluate_one
    try:
        for i, cell in enumerate(cells, 1):
            done = state["cells"].get(cell.key)
            if done and (paths.run_dir(str(done["run_id"])) / paths.RUN_SUMMARY).is_file():
                echo(f"[{i}/{len(cells)}] {cell.model} | {cell.prompts} | {cell.lang}: finished earlier")
                continue
            echo(f"[{i}/{len(cells)}] {cell.model} | {cell.prompts} | {cell.lang}")
            summary = evaluate_one(cell)
            state["cells"][cell.key] = _cell_record(summary)
            paths.write_json(state_file, state)
    except KeyboardInterrupt:
        echo(f"interrupted: {len(state['cells'])} of {len(cells)} cells finished; run the same command again "
             f"to resume (finished cells and images are kept; progress in {state_file})")
        raise
    rows = [{"model": c.model, "prompts": c.prompts, "lang": c.lang, **state["cells"][c.key]} for c in cells]
    table = {"name": suite.name, "rows": rows,
             "skipped": [{"model": c.model, "prompts": c.prompts, "lang": c.lang, "why": why} for c, why in skipped]}
    state["table"] = table
    paths.write_json(state_file, state)
    return table


def _cell_record(summary: dict) -> dict:
    """What the table shows of a cell: run id, images, metric values."""
    return {"run_id": summary["run_id"], "n_images": summary["n_images"],
            "metrics": {name: r.get("value") for name, r in summary["metrics"].items()}}


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    size = abs(value)
    return f"{value:.1f}" if size >= 100 else f"{value:.2f}" if size >= 1 else f"{value:.3f}"


def table_lines(table: dict) -> list[str]:
    """The cells as a plain-text table (markdown pipes), then the cells that did not run."""
    metrics = sorted({m for row in table["rows"] for m in row["metrics"]})
    header = ["model", "prompts", "lang", "n", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table["rows"]:
        values = [_fmt(row["metrics"].get(m)) if m in row["metrics"] else "" for m in metrics]
        lines.append("| " + " | ".join([row["model"], row["prompts"], row["lang"], str(row["n_images"]), *values])
                     + " |")
    for s in table["skipped"]:
        lines.append(f"not run: {s['model']} | {s['prompts']} | {s['lang']}: {s['why']}")
    return lines


