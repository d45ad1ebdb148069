"""A finished generation run read back and checked: its spec, its metadata rows and its images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError

_REQUIRED = ("prompt_id", "sample", "file")


@dataclass(frozen=True)
class Run:
    """A run folder read and checked: spec, metadata rows sorted by file, image paths."""

    path: Path
    spec: dict
    rows: list[dict]

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def files(self) -> list[Path]:
        return [self.path / row["file"] for row in self.rows]

    @property
    def tier(self) -> str:
        return self.spec.get("tier", "real")

    @property
    def lang(self) -> str:
        return self.spec.get("lang", "en")

    @property
    def prompt_set(self) -> dict:
        value = self.spec.get("prompts") or self.spec.get("prompt_set") or {}
        return value if isinstance(value, dict) else {"name": str(value)}

    @property
    def system(self) -> str:
        name = self.spec.get("model_name") or self.spec.get("model")
        return name if isinstance(name, str) else str((name or {}).get("name", self.id))


def find_run(value: str | Path) -> Path:
    """A run folder from a path or a run id; one that is not there is named with where runs are looked up."""
    folder = Path(value)
    if folder.is_dir():
        return folder
    if folder.exists():
        raise BenchError(f"run {value} is a file; give a run folder or a run id")
    if "/" in str(value) or "\\" in str(value) or str(value).startswith("."):
        raise BenchError(f"run folder {value} does not exist (give a run folder or a run id from {paths.runs_dir()})")
    run = paths.run_dir(str(value))
    if not run.is_dir():
        raise BenchError(f"no run '{value}' in {paths.runs_dir()} (give a run folder or an existing run id; "
                         "bench evaluate prints the folder of each run)")
    return run


def read_run(run: Path) -> Run:
    """Read spec.json and metadata.jsonl; every image the metadata lists must exist (named when not)."""
    from bench.generation.runfolder import image_problem

    run = Path(run)
    if not run.is_dir():
        raise BenchError(f"run folder {run} does not exist")
    spec = paths.read_json(run / paths.RUN_SPEC)
    meta = run / paths.RUN_METADATA
    if not meta.is_file():
        raise BenchError(f"{meta} does not exist; generate the run first")
    rows = []
    for line_no, row in paths.iter_jsonl(meta):
        missing = [k for k in _REQUIRED if k not in row]
        if missing:
            raise BenchError(f"{meta}:{line_no}: missing field(s) {', '.join(missing)}")
        parts = Path(row["file"]).parts
        if Path(row["file"]).is_absolute() or ".." in parts:
            raise BenchError(f"{meta}:{line_no}: file {row['file']!r} must be inside the run folder")
        if not (run / row["file"]).is_file():
            raise BenchError(f"image {run / row['file']} listed in {meta.name} line {line_no} is missing")
        size = spec.get("size") if isinstance(spec.get("size"), int) else None
        if problem := image_problem(run / row["file"], size):
            raise BenchError(f"image {run / row['file']} is {problem}; rerun the `bench generate` command "
                             "that made this run (or `bench evaluate --model ...`): it regenerates broken images")
        row.setdefault("text", "")
        row.setdefault("text_en", row["text"])
        rows.append(row)
    if not rows:
        raise BenchError(f"{meta} lists no images")
    rows.sort(key=lambda r: r["file"])  # clean-fid's folder order, so set metrics match it exactly
    return Run(run, spec, rows)
