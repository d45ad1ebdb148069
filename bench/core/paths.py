"""The on-disk layout, atomic writes and locks: the only module that builds artifact paths.

Over 400 lines on purpose: every artifact path of every stage is built here and nowhere else, so the whole
layout reads in one file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

# Re-exported: every writer reaches the write helpers through this module.
from bench.core.writes import DiskFull as DiskFull
from bench.core.writes import atomic_write as atomic_write
from bench.core.writes import clean_temps as clean_temps
from bench.core.writes import fsync_path as fsync_path
from bench.core.writes import staged as staged
from bench.core.writes import temp_folder as temp_folder

# The checkout this module was loaded from (git commit lookups; shipped data when not installed as a wheel).
_PACKAGE = Path(__file__).resolve().parent.parent  # bench/ (this module is bench/core/paths.py)
REPO_ROOT = _PACKAGE.parent
# A wheel carries the checkout's shipped data (prompts/, corpora/sample/) here; setup.py copies it in.
_PACKAGED = _PACKAGE / "_shipped"

# An id that names one file: letters and digits of any script (with their combining marks) and '.', '_', '-',
# starting with a letter or digit; never a separator, '..', a control or format character or a leading dot.
_ID_PUNCT = frozenset("._-")
_ID_MAX = 200


def bench_home() -> Path:
    """Root for artifacts not meant for git (runs, checkpoints, caches, zoo); BENCH_HOME or ./.bench."""
    return _folder_setting("BENCH_HOME", os.environ.get("BENCH_HOME", ".bench"))


def _folder_setting(variable: str, value: str) -> Path:
    """A folder named by a setting, refused at once when it is empty or something other than a folder is there."""
    if not value.strip():
        # Path("") is the working directory: an empty setting would silently write there.
        raise BenchError(f"{variable} is set but empty; unset it for the default or give a folder")
    path = Path(value).resolve()
    if path.exists() and not path.is_dir():
        raise BenchError(f"{variable}={value} is a file, not a folder; point {variable} at a folder")
    return path


def repo_dir(name: str) -> Path:
    """A data folder the user's work goes to (prompts, corpora, reports): BENCH_<NAME>_DIR, else ./<name>.

    Relative to the working directory, never to where pea-bench is installed.
    """
    override = os.environ.get(f"BENCH_{name.upper()}_DIR")
    return _folder_setting(f"BENCH_{name.upper()}_DIR", override) if override is not None else Path.cwd().resolve() / name


def shipped_dir(name: str) -> Path:
    """Read-only data shipped with pea-bench (prompts, corpora/sample): in the wheel, else in the checkout."""
    packaged = _PACKAGED / name
    return packaged if packaged.is_dir() else REPO_ROOT / name


def prompts_dir() -> Path:
    """Where prompt sets are looked up first: BENCH_PROMPTS_DIR, else ./prompts if it exists, else the shipped ones."""
    local = repo_dir("prompts")
    if os.environ.get("BENCH_PROMPTS_DIR") or local.is_dir():
        return local
    return shipped_dir("prompts")


def prompt_roots() -> list[Path]:
    """Folders holding prompt sets, first match wins: prompts_dir(), then the shipped sets (unless
    BENCH_PROMPTS_DIR says exactly where to look)."""
    roots = [prompts_dir()]
    shipped = shipped_dir("prompts")
    if os.environ.get("BENCH_PROMPTS_DIR") and not roots[0].is_dir():
        # It says exactly where to look, so the shipped sets are not looked at: an empty list would hide them.
        raise BenchError(f"BENCH_PROMPTS_DIR={os.environ['BENCH_PROMPTS_DIR']} does not exist; point it at a folder "
                         "of prompt sets, or unset it to use ./prompts and the shipped sets")
    if not os.environ.get("BENCH_PROMPTS_DIR") and shipped.resolve() != roots[0].resolve():
        roots.append(shipped)
    return roots


def find_suite(path: Path | str) -> Path:
    """A suite file as given, else among the suites shipped with pea-bench (`suites/world.toml` or `world.toml`),
    so `bench run suites/world.toml` works from any folder; a missing one says where suites are looked up."""
    path = Path(path)
    if path.is_file():
        return path
    shipped = shipped_dir("suites")
    if not path.is_absolute():
        for candidate in (shipped.parent / path, shipped / path):
            if candidate.is_file():
                return candidate
    names = ", ".join(sorted(p.name for p in shipped.glob("*.toml"))) or "none"
    raise BenchError(f"suite file {path} does not exist (looked in {Path.cwd()} and in the shipped suites, "
                     f"{shipped}: {names})")


def corpora_dir() -> Path:
    """Where corpora are built: corpora/<name>/."""
    return repo_dir("corpora")


def reports_dir() -> Path:
    """Where results, the leaderboard and grids live."""
    return repo_dir("reports")


def runs_dir() -> Path:
    """Generation runs: one folder per run spec hash."""
    return bench_home() / "runs"


def checkpoints_dir() -> Path:
    """Training checkpoints: one folder per training run name."""
    return bench_home() / "checkpoints"


def cache_dir(kind: str) -> Path:
    """Cache of frozen computations of one kind (refstats, text-embeddings, latents, translations)."""
    return bench_home() / "cache" / safe_id(kind, what="cache kind")


def worker_logs_dir() -> Path:
    """Where worker processes (bench.core.workers) write their logs: logs/worker-<n>.log."""
    return bench_home() / "logs"


def references_dir() -> Path:
    """Reference images of public prompt sets (their images become FID references): references/<set>/."""
    return bench_home() / "references"


def zoo_dir() -> Path:
    """Tiny offline models, built deterministically on first use."""
    return bench_home() / "zoo"


def _id_char(char: str, first: bool) -> bool:
    """True for a character an id may hold (at its start when `first`)."""
    kind = unicodedata.category(char)[0]
    if first:
        return kind in "LN"
    return kind in "LMN" or char in _ID_PUNCT


def safe_id(value: str, what: str = "id") -> str:
    """`value` (NFC-normalised) if it can be used as one path component, else raise; ids from data files pass here."""
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value)
    if (not isinstance(value, str) or not 0 < len(value) <= _ID_MAX
            or not all(_id_char(c, i == 0) for i, c in enumerate(value))):
        raise BenchError(
            f"{what} {value!r} cannot name a file: use letters of any script, digits, '.', '_' or '-', "
            f"starting with a letter or digit (at most {_ID_MAX})"
        )
    return value


def id_from_name(name: str) -> str:
    """A folder's name as an id: runs of spaces (and other characters an id cannot hold) become one '-'."""
    name = unicodedata.normalize("NFC", name)
    out = "".join(c if _id_char(c, False) else "-" for c in name)
    return re.sub(r"-{2,}", "-", out).strip("-._")[:_ID_MAX] or "folder"


def portable(path: Path | str) -> str:
    """A path as files that may be shared or committed record it: relative to BENCH_HOME ('$BENCH_HOME/...')
    or the working directory, else only its name; never an absolute path of this machine."""
    path = Path(path).resolve()
    for root, label in ((bench_home(), "$BENCH_HOME/"), (Path.cwd().resolve(), "")):
        if path == root:
            return label.rstrip("/") or "."
        if path.is_relative_to(root):
            return label + path.relative_to(root).as_posix()
    return path.name


def inside(folder: Path, relative: str, what: str = "path", also: tuple[Path, ...] = ()) -> Path:
    """folder / relative for a path read from data, refused unless it stays inside `folder`.

    Absolute paths are accepted only under `folder` or one of the roots in `also`. The check is on the
    written path (no '..' out of the folder), so symlinks a user placed inside the folder still work.
    """
    folder = Path(folder)
    rel = Path(os.path.normpath(str(relative))) if relative else Path()
    if str(relative).strip() == "" or "\0" in str(relative):
        raise BenchError(f"{what} {relative!r} is not a file name")
    if rel.is_absolute():
        for root in (folder, *also):
            if rel.is_relative_to(Path(os.path.normpath(os.path.abspath(root)))):
                return rel
        raise BenchError(f"{what} {str(relative)!r} is outside {folder}; use a path relative to that folder")
    if rel.parts[:1] == ("..",):
        raise BenchError(f"{what} {str(relative)!r} leaves {folder}; use a path inside that folder")
    return folder / rel


def child(parent: Path, name: str, what: str = "id") -> Path:
    """parent / name after checking that name is one safe component."""
    return parent / safe_id(name, what)


def write_bytes(path: Path, data: bytes) -> Path:
    """Atomically write bytes."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str, durable: bool = True) -> Path:
    """Atomically write UTF-8 text (durable=False: an intermediate file, not fsynced)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=durable)


def write_json(path: Path, obj: Any, durable: bool = True) -> Path:
    """Atomically write pretty, key-sorted JSON (stable across runs, diff-friendly)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", durable=durable)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Atomically write one JSON object per line."""
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
    return write_text(path, text)


def read_json(path: Path) -> Any:
    """Read a JSON file, turning a missing or broken file into a one-line BenchError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


class JsonLineError(BenchError):
    """A bad line of a JSON-lines file; the message starts with file:line."""


def iter_jsonl(path: Path, on_error: Callable[[str], None] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON-lines file: the one reader every stage uses.

    A line that is not a JSON object raises JsonLineError "FILE:LINE: not valid JSON (...)" or
    "FILE:LINE: expected a JSON object, got list"; with `on_error` the message is passed to it and the line
    skipped instead (the prompt-set validator collects every problem). A missing or non-UTF-8 file is a
    BenchError.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark that opens the file is not data
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise BenchError(f"{path}: not UTF-8 ({exc.reason})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            problem = None if isinstance(obj, dict) else f"expected a JSON object, got {type(obj).__name__}"
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
        if problem is None:
            yield number, obj
        elif on_error is None:
            raise JsonLineError(f"{path}:{number}: {problem}")
        else:
            on_error(f"{path}:{number}: {problem}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file (iter_jsonl without line numbers)."""
    return [obj for _, obj in iter_jsonl(path)]


class LockHeld(BenchError):
    """Another live process holds the lock."""


@contextlib.contextmanager
def locked(path: Path, what: str = "this folder", wait_s: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock file for the duration; a lock left by a dead process is taken over.

    With wait_s > 0 a live holder is waited for (polling) up to that long before LockHeld is raised.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            # The kernel drops a flock when its holder dies, so taking over a dead holder's lock is the
            # same single atomic call as taking a free one: two processes can never both win it.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise LockHeld(
                f"{what} is locked by another process ({path}); wait for it or delete the lock if it died"
            ) from None
        # A holder that released between our open and flock has unlinked this file: retry on the new one.
        try:
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    try:
        # The pid is for people looking at the lock; the flock is what decides.
        os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same, the pid is not needed
            os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        # Unlink while still holding the flock, so a waiter never locks a file that is about to vanish.
        path.unlink(missing_ok=True)
        os.close(fd)


# Generation runs: runs/<run-id>/ with spec.json, images/<prompt_id>_<sample>.png, metadata.jsonl.
RUN_SPEC = "spec.json"
RUN_METADATA = "metadata.jsonl"
RUN_TIMINGS = "timings.json"


def run_dir(run_id: str) -> Path:
    """The folder of one generation run."""
    return child(runs_dir(), run_id, what="run id")


def run_image_name(prompt_id: str, sample: int) -> str:
    """File name of one generated image relative to the run folder: images/<prompt_id>_<sample>.png."""
    return f"images/{safe_id(prompt_id, what='prompt id')}_{int(sample)}.png"


def run_image_prompt_ids(run: Path, sample: int = 0) -> set[str]:
    """Prompt ids that have an image of `sample` in a run folder (read back from the file names)."""
    suffix = f"_{int(sample)}.png"
    return {p.name[:-len(suffix)] for p in run_images_dir(run).glob(f"*{suffix}")}


def run_item_record(run: Path, prompt_id: str, sample: int) -> Path:
    """Per-image metadata written next to the run as each image finishes (merged into metadata.jsonl)."""
    return Path(run) / ".items" / f"{safe_id(prompt_id, what='prompt id')}_{int(sample)}.json"


def run_lock(run: Path) -> Path:
    """The lock file that keeps two uncoordinated processes from writing one run."""
    return Path(run) / ".lock"


# Corpus layout: corpora/<name>/{manifest.json, sample.md, data/part-NNNNN.parquet, .progress/...}
def corpus_dir(name: str) -> Path:
    """Folder of the corpus called `name`."""
    return child(corpora_dir(), name, what="corpus name")


def corpus_shard_path(name: str, index: int) -> Path:
    """Parquet shard `index` of a corpus (its rows come from source chunk `index`)."""
    return corpus_dir(name) / "data" / f"part-{index:05d}.parquet"


def corpus_shard_temps(name: str, index: int) -> list[Path]:
    """Temporary files a killed writer of shard `index` (or of its stats file) left behind."""
    shard, stats = corpus_shard_path(name, index), corpus_shard_stats_path(name, index)
    return sorted([*shard.parent.glob(f".{shard.name}.*.tmp"), *stats.parent.glob(f".{stats.name}.*.tmp")])


def corpus_shard_stats_path(name: str, index: int) -> Path:
    """Per-shard filter counts; written after the shard, so its presence marks the shard finished."""
    return corpus_dir(name) / ".progress" / f"part-{index:05d}.json"


def corpus_build_config_path(name: str) -> Path:
    """The build config a corpus folder was started with (a resume must match it)."""
    return corpus_dir(name) / ".progress" / "build.json"


def corpus_manifest_path(name: str) -> Path:
    """manifest.json of a corpus."""
    return corpus_dir(name) / "manifest.json"


def corpus_sample_path(name: str) -> Path:
    """sample.md: random pairs for a person to eyeball."""
    return corpus_dir(name) / "sample.md"


def shipped_sample_captions() -> Path:
    """The hand-written, hand-translated captions shipped in corpora/sample/ (a local copy wins)."""
    local = corpora_dir() / "sample" / "captions.jsonl"
    return local if local.is_file() else shipped_dir("corpora/sample") / "captions.jsonl"


# Evaluation layout: runs/<id>/features/*.npz (shared by metrics), runs/<id>/scores/<metric>.parquet,
# runs/<id>/summary.json; reference statistics under cache/refstats; summaries in reports/results.
RUN_SUMMARY = "summary.json"


def run_scores_dir(run: Path) -> Path:
    """Per-metric score files of a run: scores/."""
    return Path(run) / "scores"


def run_images_dir(run: Path) -> Path:
    """The generated images of a run: images/."""
    return Path(run) / "images"


def gpu_bench_path() -> Path:
    """The default output of `make gpu-bench`: BENCH_HOME/gpu-bench.json."""
    return bench_home() / "gpu-bench.json"


def run_features_path(run: Path, name: str) -> Path:
    """Cached features of one extractor or judge for a run: features/<name>.npz."""
    return Path(run) / "features" / f"{safe_id(name, what='feature name')}.npz"


def run_scores_path(run: Path, metric: str, suffix: str = ".parquet") -> Path:
    """Per-image scores of one metric (.parquet) or its cached result (.json): scores/<metric><suffix>."""
    return Path(run) / "scores" / f"{safe_id(metric, what='metric name')}{suffix}"


def refstats_path(name: str, mode: str, extractor: str, resolution: str | int) -> Path:
    """Reference statistics file; its name carries every parameter that made it."""
    stem = "_".join(safe_id(str(part), what="reference statistics field") for part in (name, mode, extractor, resolution))
    return cache_dir("refstats") / f"{stem}.npz"


def results_dir() -> Path:
    """Committed evaluation summaries, one JSON per run: reports/results/<run-id>.json."""
    return reports_dir() / "results"


def result_path(run_id: str) -> Path:
    """One published evaluation summary: reports/results/<run-id>.json."""
    return results_dir() / f"{safe_id(run_id, what='run id')}.json"


def suite_state_path(name: str) -> Path:
    """Where a suite records its finished cells: .bench/suites/<name>.json."""
    return bench_home() / "suites" / f"{safe_id(name, what='suite name')}.json"


def human_dir() -> Path:
    """reports/human/: rankings (<study>.json) and exported votes."""
    return reports_dir() / "human"


def human_ranking_path(study: str) -> Path:
    """The ranking of one human study: reports/human/<study>.json."""
    return human_dir() / f"{safe_id(study, what='study name')}.json"


def zoo_component_dir(name: str, version: int) -> Path:
    """The folder of one built tiny component: zoo/<name>-v<version>/."""
    return zoo_dir() / f"{safe_id(name, what='zoo component')}-v{int(version)}"


def zoo_component_lock(name: str) -> Path:
    """The lock held while one tiny component is built."""
    return zoo_dir() / f".{safe_id(name, what='zoo component')}.lock"


def grids_dir() -> Path:
    """Image grids (the same prompts across systems): reports/grids/."""
    return reports_dir() / "grids"


def grid_path(tier: str, prompt_set: str, lang: str) -> Path:
    """The image grid of one tier, prompt set and language: grids/<tier>-<set>-<lang>.png."""
    return grids_dir() / f"{safe_id(tier)}-{safe_id(prompt_set)}-{safe_id(lang)}.png"


def checkpoint_dir(name: str) -> Path:
    """A training run's folder: the latest good adapter at the top, numbered step checkpoints below."""
    return child(checkpoints_dir(), name, what="checkpoint name")


# Checkpoint layout: checkpoints/<name>/{adapter.safetensors, config.json, state.pt, README.md, log.jsonl, .lock}
# mirror the newest of steps/step-NNNNNNNN/; a step is written as steps/.step-N.<random>/ and renamed.
def checkpoint_step_path(run: Path, step: int) -> Path:
    """steps/step-NNNNNNNN/ of a run folder."""
    return Path(run) / "steps" / f"step-{int(step):08d}"


def checkpoint_step_paths(run: Path) -> list[Path]:
    """Every steps/step-*/ folder of a run folder (complete or not), oldest first."""
    folder = Path(run) / "steps"
    return sorted(folder.glob("step-*")) if folder.is_dir() else []


def checkpoint_step_temp_prefix(step: int) -> str:
    """Name prefix of the temporary folder a step checkpoint is written into before its rename."""
    return f".step-{int(step)}."


def checkpoint_step_temps(run: Path) -> list[Path]:
    """Temporary step folders a killed save left behind."""
    folder = Path(run) / "steps"
    return sorted(folder.glob(".step-*")) if folder.is_dir() else []


def checkpoint_log_path(run: Path) -> Path:
    """The training log of a run: one JSON row per logged step."""
    return Path(run) / "log.jsonl"


def checkpoint_lock(run: Path) -> Path:
    """The lock that keeps two trainings from writing one run folder."""
    return Path(run) / ".lock"


def frozen_cache_dir(kind: str, key: str) -> Path:
    """One cache of frozen per-row tensors: cache/<kind>/<key>/ (key hashes what decides the values)."""
    return child(cache_dir(kind), key, what="cache key")


def frozen_cache_shard(folder: Path, index: int) -> Path:
    """Shard `index` of a frozen cache: shard-NNNNN.safetensors."""
    return Path(folder) / f"shard-{int(index):05d}.safetensors"
