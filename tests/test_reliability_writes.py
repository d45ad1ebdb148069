"""Writes that never destroy or half-write a result, and corrupt inputs refused in one line (issue 23 parts 1-4,
13-15): one table per kind of case; every row is a bad input or a hostile target, run through the real CLI."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from generate_helpers import write_prompt_set

from bench.core import paths, writes

GEN = ["generate", "--model", "asis-tiny-sd15", "--prompts", "mini", "--lang", "zh", "--limit", "2", "--samples", "1",
       "--steps", "1", "--size", "16"]
TRAIN = ["train", "--lang", "zh", "--base", "tiny-sd15", "--encoder", "tiny", "--resolution", "16", "--batch-size", "2",
         "--val-rows", "0"]
CORPUS = ["build-corpus", "--lang", "zh", "--source", "sample", "--translator", "none", "--no-language-id",
          "--shard-size", "80"]


# ---------------------------------------------------------------- helpers
def cli(argv: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """Run `bench argv` in this process: (exit code, stdout, stderr)."""
    from bench import cli as entry

    monkeypatch.setattr(sys, "argv", ["bench", *argv])
    with pytest.raises(SystemExit) as done:
        entry.main()
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every entry under the roots: links by target, folders by mode, files by mode and content hash."""
    seen: dict[str, tuple] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):  # symlinked folders (the shared zoo) are not entered
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                seen[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                seen[str(path)] = ("dir", stat.S_IMODE(mode))
            elif stat.S_ISREG(mode):
                seen[str(path)] = ("file", stat.S_IMODE(mode), hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                seen[str(path)] = ("special", stat.S_IFMT(mode))
    return seen


def one_line_refusal(code: int, out: str, err: str, expected: str, exit_code: int = 2) -> str:
    """The refusal is exit 2 with exactly one `error:` line, last, holding `expected`; nothing else printed."""
    errors = [x for x in err.strip().splitlines() if x.startswith("error: ")]
    assert code == exit_code, err
    assert "Traceback" not in err and len(errors) == 1 and err.strip().endswith(errors[0]), err
    assert expected in errors[0], errors[0]
    assert "token" not in out and "http://" not in out, out  # nothing announced before the refusal
    return errors[0]


@pytest.fixture
def world(tmp_path, bench_home, monkeypatch):
    """Prompts, reports and corpora under tmp_path; returns the roots whose contents a refusal must not touch."""
    write_prompt_set(tmp_path / "prompts")
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(tmp_path / "prompts"))
    return [bench_home.parent, tmp_path]


# ---------------------------------------------------------------- part 3 and 4: refused, nothing written or changed
def _corpus_with_truncated_shard(t: Path) -> Path:
    from train_corpus import make_corpus

    folder = make_corpus(t / "corpus", rows=4)
    shard = folder / "shard-00000.parquet"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    return folder


def _corpus_shard(t: Path, data: bytes) -> Path:
    from train_corpus import make_corpus

    folder = make_corpus(t / "corpus", rows=4)
    (folder / "shard-00000.parquet").write_bytes(data)
    return folder


def _config(t: Path, body: str) -> Path:
    path = t / "settings.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _run(t: Path) -> str:
    """A crafted run folder (4 prompts x 1 sample) in BENCH_HOME's runs; its id."""
    from evalkit import make_run
    from evalkit import write_prompt_set as culture

    culture(t / "prompts")
    return make_run(paths.runs_dir(), n_prompts=4, samples=1).name


def _refstats(t: Path, content: bytes | None = None, arrays: dict | None = None) -> str:
    """Reference statistics 'toy' built by the real builder, then each .npz replaced by a hostile file."""
    import pickle

    import numpy as np
    from evalkit import make_reference_folder

    from bench.instruments.refstats import RefstatsConfig, build_refstats

    refs = make_reference_folder(t / "refs", n=6)
    build_refstats(RefstatsConfig("toy", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    for file in paths.cache_dir("refstats").glob("*.npz"):
        if arrays is not None:
            with open(file, "wb") as fh:
                np.savez(fh, **arrays)
        else:
            file.write_bytes(content if content is not None else pickle.dumps({"mu": [0.0], "sigma": [[1.0]]}))
    return "toy"


def _score_folder(t: Path, name: str = "wall_0.png", data: bytes = b"this is a text file, not a PNG\n") -> Path:
    """Images answering the 'mini' prompts, one of them a hostile file under an image name."""
    from evalkit import draw

    folder = t / "images"
    folder.mkdir()
    draw(1).save(folder / "cat_0.png")
    draw(2).save(folder / "noodles_0.png")
    if name:
        (folder / name).write_bytes(data)
    return folder


def _good_score_folder(t: Path) -> Path:
    return _score_folder(t, name="")


def _human_db(data: bytes | None) -> None:
    from bench.human.db import db_path

    path = db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)


def _busy_port(holder: list) -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    holder.append(sock)  # kept open for the row's duration
    return sock.getsockname()[1]


def _png(data: bytes = b"") -> bytes:
    from io import BytesIO

    from evalkit import draw

    buffer = BytesIO()
    draw(3).save(buffer, format="PNG")
    return buffer.getvalue()


MINI = ["-p", "mini", "-l", "zh", "--tier", "tiny"]

# (id, setup(tmp_path, held sockets) -> argv, expected text of the one line)
REFUSALS = [
    # part 4: corrupt inputs
    ("train-truncated-parquet", lambda t, h: [*TRAIN, "--steps", "1", "--name", "t", "--corpus",
                                              str(_corpus_with_truncated_shard(t))], "shard-00000.parquet"),
    ("train-parquet-is-text", lambda t, h: [*TRAIN, "--steps", "1", "--name", "t", "--corpus",
                                            str(_corpus_shard(t, b"id,text\n1,a\n"))], "shard-00000.parquet"),
    ("train-parquet-empty", lambda t, h: [*TRAIN, "--steps", "1", "--name", "t", "--corpus",
                                          str(_corpus_shard(t, b""))], "shard-00000.parquet"),
    ("config-metrics-number", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                            str(_config(t, "metrics = 5\n"))], "--metrics must be a list of names"),
    ("config-metrics-bool", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                          str(_config(t, "metrics = true\n"))], "--metrics must be a list of names"),
    ("config-metrics-float", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                           str(_config(t, "metrics = 1.5\n"))], "--metrics must be a list of names"),
    ("config-metrics-list-of-numbers", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                                     str(_config(t, "metrics = [1, 2]\n"))],
     "--metrics must be a list of names"),
    ("config-metrics-table", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                           str(_config(t, "[evaluate]\nmetrics = {a = 1}\n"))],
     "--metrics must be a list of names"),
    ("config-evaluate-table-number", lambda t, h: ["evaluate", "--run", _run(t), "--config",
                                                   str(_config(t, "[evaluate]\nmetrics = 7\n"))],
     "--metrics must be a list of names"),
    ("evaluate-refstats-pickle", lambda t, h: ["evaluate", "--run", _run(t), "--metrics", "fid", "--extractor",
                                               "tiny-inception", "--refstats", _refstats(t)],
     "refused: the file holds pickled Python objects"),
    ("evaluate-refstats-truncated", lambda t, h: ["evaluate", "--run", _run(t), "--metrics", "fid", "--extractor",
                                                  "tiny-inception", "--refstats", _refstats(t, b"PK\x03\x04trunc")],
     "not a .npz array file"),
    ("evaluate-refstats-text", lambda t, h: ["evaluate", "--run", _run(t), "--metrics", "fid", "--extractor",
                                             "tiny-inception", "--refstats", _refstats(t, b"mu = 1\n")],
     "not a .npz array file"),
    ("evaluate-refstats-empty", lambda t, h: ["evaluate", "--run", _run(t), "--metrics", "fid", "--extractor",
                                              "tiny-inception", "--refstats", _refstats(t, b"")], "not a .npz array file"),
    ("evaluate-refstats-missing-array", lambda t, h: ["evaluate", "--run", _run(t), "--metrics", "fid", "--extractor",
                                                      "tiny-inception", "--refstats",
                                                      _refstats(t, arrays={"mu": [0.0]})], "no array feats, sigma"),
    ("fid-refstats-pickle", lambda t, h: ["fid", str(_good_score_folder(t)), "--extractor", "tiny-inception",
                                          "--refstats", _refstats(t)], "refused: the file holds pickled Python"),
    ("fid-refstats-truncated", lambda t, h: ["fid", str(_good_score_folder(t)), "--extractor", "tiny-inception",
                                             "--refstats", _refstats(t, b"PK\x03\x04")], "not a .npz array file"),
    ("score-text-named-png", lambda t, h: ["score", str(_score_folder(t)), *MINI], "is not a readable image"),
    ("score-empty-png", lambda t, h: ["score", str(_score_folder(t, data=b"")), *MINI], "is not a readable image"),
    ("score-truncated-png", lambda t, h: ["score", str(_score_folder(t, data=_png()[:200])), *MINI],
     "is not a readable image"),
    ("score-jpeg-named-text", lambda t, h: ["score", str(_score_folder(t, name="wall_0.jpg", data=b"<html>")),
                                            *MINI], "is not a readable image"),
    # part 3: a refusal after the copy leaves no run folder
    ("score-refused-refstats", lambda t, h: ["score", str(_good_score_folder(t)), *MINI, "--refstats", "nosuch"],
     "no reference statistics 'nosuch'"),
    ("score-refused-metric", lambda t, h: ["score", str(_good_score_folder(t)), *MINI, "--metrics", "fid",
                                           "--refstats", "nosuch"], "no reference statistics 'nosuch'"),
    ("score-refused-judge", lambda t, h: ["score", str(_good_score_folder(t)), *MINI, "--judge", "nosuch"],
     "nosuch"),
    ("human-list-not-a-database", lambda t, h: (_human_db(b"just some text\n" * 40), ["human", "list"])[1],
     "is not a pea-bench human-evaluation database"),
    ("human-list-database-is-folder", lambda t, h: (_human_db(None), ["human", "list"])[1], "is a folder"),
    ("human-list-database-is-png", lambda t, h: (_human_db(_png()), ["human", "list"])[1],
     "is not a pea-bench human-evaluation database"),
    ("serve-not-a-database", lambda t, h: (_human_db(b"\x00" * 4096), ["serve", "--port", str(_free_port())])[1],
     "is not a pea-bench human-evaluation database"),
    ("serve-port-too-big", lambda t, h: ["serve", "--port", "99999"], "--port must be between 1 and 65535"),
    ("serve-port-negative", lambda t, h: ["serve", "--port", "-1"], "--port must be between 1 and 65535"),
    ("serve-port-zero", lambda t, h: ["serve", "--port", "0"], "--port must be between 1 and 65535"),
    ("serve-port-in-use", lambda t, h: ["serve", "--port", str(_busy_port(h))], "is already in use"),
    ("serve-unknown-host", lambda t, h: ["serve", "--host", "no-such-host.invalid", "--port", str(_free_port())],
     "is not an address or a known host name"),
    ("serve-host-not-here", lambda t, h: ["serve", "--host", "192.0.2.1", "--port", str(_free_port())],
     "is not an address of this machine"),
    ("serve-host-empty-label", lambda t, h: ["serve", "--host", "a..b", "--port", str(_free_port())],
     "is not an address or a known host name"),
    # part 1: --out naming what cannot be replaced by a file
    ("out-is-a-folder", lambda t, h: ["leaderboard", "--format", "csv", "--out", str(_folder(t))],
     "is a folder; give the path of a file"),
    ("out-is-a-symlink-to-a-folder", lambda t, h: ["leaderboard", "--format", "csv", "--out", str(_link(t, _folder(t)))],
     "is a folder; give the path of a file"),
    ("out-is-dev-full", lambda t, h: ["leaderboard", "--format", "csv", "--out", "/dev/full"], "no space left"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _folder(t: Path) -> Path:
    folder = t / "a-folder"
    folder.mkdir(exist_ok=True)
    (folder / "keep.txt").write_text("kept")
    return folder


def _link(t: Path, target: Path) -> Path:
    link = t / "a-link"
    link.symlink_to(target)
    return link


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refused_in_one_line_with_nothing_written(case, world, tmp_path, monkeypatch, capsys):
    name, setup, expected = case
    held: list = []
    try:
        argv = setup(tmp_path, held)
        before = snapshot(*world)
        code, out, err = cli(argv, monkeypatch, capsys)
        one_line_refusal(code, out, err, expected)
        after = snapshot(*world)
        assert after == before, {p: (before.get(p), after.get(p)) for p in set(before) | set(after)
                                 if before.get(p) != after.get(p)}
    finally:
        for sock in held:
            sock.close()


def test_train_resume_with_other_settings_touches_nothing(world, tmp_path, monkeypatch, capsys):
    """Part 3: the refusal comes before the repair that would restore the top level from a step checkpoint."""
    from train_corpus import make_corpus

    corpus = make_corpus(tmp_path / "corpus", rows=4)
    base = [*TRAIN, "--name", "t", "--corpus", str(corpus), "--steps", "2", "--save-every", "1"]
    assert cli(base, monkeypatch, capsys)[0] == 0
    run = paths.checkpoint_dir("t")
    (run / "adapter.safetensors").write_bytes((run / "steps" / "step-00000001" / "adapter.safetensors").read_bytes())
    (run / ".config.json.999999.x.tmp").write_text("a dead writer's half file")  # what a repair would delete
    before = snapshot(*world)
    for other in (["--lr", "0.5"], ["--seed", "7"], ["--steps", "3", "--save-every", "2"]):
        code, out, err = cli([*base, *other, "--resume"], monkeypatch, capsys)
        one_line_refusal(code, out, err, "already holds a run with other settings")
        assert snapshot(*world) == before, other


# ---------------------------------------------------------------- part 1: --out onto links, devices, new folders
def _export(target: Path, monkeypatch, capsys) -> str:
    code, out, err = cli(["leaderboard", "--format", "csv", "--out", str(target)], monkeypatch, capsys)
    assert code == 0, err
    return out


def _csv() -> str:
    from bench.report.export import export

    return export([], "csv")


OUT_TARGETS = [
    # (id, make(tmp) -> (--out path, what to check afterwards))
    ("symlink-to-file", lambda t: _with_link(t, "old.csv", exists=True)),
    ("dangling-symlink", lambda t: _with_link(t, "new.csv", exists=False)),
    ("relative-symlink", lambda t: _with_link(t, "old.csv", exists=True, relative=True)),
    ("symlink-chain", lambda t: _with_chain(t)),
    ("dev-null", lambda t: (Path("/dev/null"), lambda: stat.S_ISCHR(os.stat("/dev/null").st_mode))),
    ("missing-folders", lambda t: (t / "nodir" / "sub" / "x.csv",
                                   lambda: (t / "nodir" / "sub" / "x.csv").read_text() == _csv())),
]


def _with_link(t: Path, name: str, exists: bool, relative: bool = False):
    real = t / "real" / name
    real.parent.mkdir()
    if exists:
        real.write_text("old contents\n")
    link = t / "out" / "table.csv"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(real, link.parent) if relative else real)
    return link, lambda: link.is_symlink() and real.read_text() == _csv() and sorted(os.listdir(link.parent)) == [
        "table.csv"] and sorted(os.listdir(real.parent)) == [name]


def _with_chain(t: Path):
    real = t / "real.csv"
    real.write_text("old\n")
    first, second = t / "first.csv", t / "second.csv"
    second.symlink_to(real)
    first.symlink_to(second)
    return first, lambda: first.is_symlink() and second.is_symlink() and real.read_text() == _csv()


@pytest.mark.parametrize("case", OUT_TARGETS, ids=[c[0] for c in OUT_TARGETS])
def test_out_writes_through_links_and_devices_never_replacing_them(case, world, tmp_path, monkeypatch, capsys):
    _, make = case
    target, check = make(tmp_path)
    _export(target, monkeypatch, capsys)
    assert check()
    assert not list(tmp_path.rglob("*.tmp"))


def test_out_writes_through_a_pipe(tmp_path):
    """A FIFO stays a FIFO, and its reader gets the whole file."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    paths.write_json(fifo, {"a": 1})
    reader.join(10)
    assert got == [b'{\n  "a": 1\n}\n'] and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_help_says_out_creates_missing_folders(monkeypatch, capsys):
    for command in (["leaderboard"], ["compare"]):
        code, out, _ = cli([*command, "--help"], monkeypatch, capsys)
        words = " ".join(out.replace("│", " ").split())
        assert code == 0 and "missing folders are created" in words, command


# ---------------------------------------------------------------- part 2: a full disk
class PatchedDisk:
    """A disk that fills up after `room` more atomic writes: the writer's next write gets ENOSPC half-way."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch

    def fill(self, folder: Path, room: int) -> None:
        real = writes._fill
        left = [room]

        def fill(write, tmp):
            if left[0] <= 0 and Path(tmp).resolve().is_relative_to(Path(folder).resolve()):
                Path(tmp).write_bytes(b"half")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            left[0] -= 1
            return real(write, tmp)

        self.monkeypatch.setattr(writes, "_fill", fill)


class TmpfsDisk:
    """A real small tmpfs mounted over the folder, filled to leave `room` 4 KiB pages free."""

    def __init__(self) -> None:
        self.mounted: list[Path] = []

    def mount(self, folder: Path) -> None:
        """Move the folder's contents onto a new tmpfs mounted over it."""
        import shutil

        keep = folder.with_name(folder.name + ".kept")
        if folder.exists():
            folder.rename(keep)
        folder.mkdir(parents=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True)
        if done.returncode:
            folder.rmdir()
            if keep.exists():
                keep.rename(folder)
            pytest.skip(f"tmpfs cannot be mounted here ({done.stderr.decode().strip()}); the patched rows ran")
        self.mounted.append(folder)
        if keep.exists():
            for item in keep.iterdir():
                shutil.move(str(item), str(folder / item.name))
            keep.rmdir()

    def fill(self, folder: Path, room: int) -> None:
        ballast = folder / "ballast"
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - room * 4096))
        os.close(fd)
        self.ballast = ballast

    def unmount(self) -> None:
        for folder in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(folder)], check=False)


def _old_report(bench_home: Path) -> None:
    """reports/ with a leaderboard, a grid and a plot from two runs, as `bench leaderboard` writes them."""
    from evalkit import make_run

    from bench.report.leaderboard import write_leaderboard

    reports = paths.reports_dir()
    for system in ("sys-a", "sys-b"):
        run = make_run(paths.runs_dir(), run_id=f"{system}-culture-zh-abc", model=system, n_prompts=3, samples=1)
        paths.write_json(reports / "results" / f"{run.name}.json", _summary(system, run.name))
    write_leaderboard()
    # a newer result, so the next leaderboard differs from the one on disk in every file
    paths.write_json(reports / "results" / "sys-a-culture-zh-abc.json", _summary("sys-a", "sys-a-culture-zh-abc", 33.0))


def _summary(system: str, run_id: str, clip: float = 30.0) -> dict:
    return {"run_id": run_id, "system": system, "tier": "tiny", "lang": "zh",
            "prompt_set": {"name": "culture", "version": "1"},
            "metrics": {"clip-score": {"value": clip, "ci": [clip - 1, clip + 1], "n": 3, "higher_is_better": True,
                                       "display": "CLIP score", "judge": "tiny-clip"}},
            "judges": {}, "refstats": [], "git": {"commit": "0123456789"}}


# (id, command, folder that fills up (a setting), atomic writes that still fit / 4 KiB pages left on tmpfs)
FULL_DISKS = [
    ("leaderboard-first-write", ["leaderboard"], "BENCH_REPORTS_DIR", 0, 0),
    ("leaderboard-after-the-md", ["leaderboard"], "BENCH_REPORTS_DIR", 1, 3),
    ("leaderboard-after-a-grid", ["leaderboard"], "BENCH_REPORTS_DIR", 2, 12),
    ("generate-first-image", GEN, "BENCH_HOME", 0, 0),
    ("generate-second-image", GEN, "BENCH_HOME", 2, 2),
    ("build-corpus-first-shard", [*CORPUS, "--name", "c"], "BENCH_CORPORA_DIR", 0, 0),
    ("build-corpus-manifest", [*CORPUS, "--name", "c"], "BENCH_CORPORA_DIR", 5, 3),
    ("export-csv", ["leaderboard", "--format", "csv", "--out", "{reports}/x/table.csv"], "BENCH_REPORTS_DIR", 0, 0),
]


@pytest.mark.parametrize("disk", ["patched", "tmpfs"])
@pytest.mark.parametrize("case", FULL_DISKS, ids=[c[0] for c in FULL_DISKS])
def test_full_disk_is_one_line_naming_the_folder_and_replaces_nothing(case, disk, world, bench_home, tmp_path,
                                                                     monkeypatch, capsys):
    name, argv, setting, room_writes, room_pages = case
    folder = Path(os.environ[setting]).resolve()
    if name.startswith("leaderboard") or name.startswith("export"):
        _old_report(bench_home)
    tmpfs = TmpfsDisk() if disk == "tmpfs" else None
    try:
        if tmpfs is not None:
            if setting == "BENCH_HOME":  # the shared zoo stays a link to the disk that holds it
                folder = folder / "runs"
            tmpfs.mount(folder)
            tmpfs.fill(folder, room_pages)
        else:
            PatchedDisk(monkeypatch).fill(folder, room_writes)
        before = snapshot(*world)
        argv = [a.replace("{reports}", str(paths.reports_dir())) for a in argv]
        code, out, err = cli(argv, monkeypatch, capsys)
        line = one_line_refusal(code, out, err, "no space left on the disk holding ")
        assert str(folder) in line, line
        after = snapshot(*world)
        if tmpfs is not None:
            for snap in (before, after):
                snap.pop(str(tmpfs.ballast), None)
        leftovers = [p for p in after if p.endswith(".tmp")]
        assert not leftovers, leftovers
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        if name.startswith(("leaderboard", "export")):
            assert not changed, changed  # the old report is whole: every file as it was
        else:  # a resumable stage keeps what it finished: nothing that was there before changed
            assert not {p for p in changed if p in before and before[p][0] == "file"}, changed
    finally:
        if tmpfs is not None:
            tmpfs.unmount()


# ---------------------------------------------------------------- parts 13 and 14: a kill -9 inside a write
SUITE = """name = "s1"
models = ["asis-tiny-sd15"]
prompts = ["mini"]
langs = ["zh"]
publish = false

[generate]
samples = 1
steps = 1
size = 16
limit = 2

[evaluate]
metrics = ["clip-score"]
"""

COMMANDS = {  # what a row kills: a command and the folders it writes (relative to the row's root)
    "corpus": ([*CORPUS, "--name", "c"], ["corpora"]),
    "generate": (GEN, ["home/runs"]),
    "suite": (["run", "{inputs}/s1.toml"], ["home/suites", "home/runs"]),
    "train": ([*TRAIN, "--name", "t", "--corpus", "{inputs}/tc", "--steps", "3", "--save-every", "1"],
              ["home/checkpoints"]),
}

# (id, command, BENCH_TEST_KILL_AT: the write to die in, "NAME[:N][:after]"); rows that start a model three times
# are slow (make slow); the corpus rows, one generate row and the part-14 train row stay in make test.
SLOW = pytest.mark.slow
KILLS = [
    ("corpus-manifest", "corpus", "manifest.json"),
    ("corpus-sample", "corpus", "sample.md"),
    ("corpus-build-config", "corpus", "build.json"),
    ("corpus-second-shard", "corpus", "part-00001.parquet"),
    ("corpus-second-shard-stats", "corpus", "part-00001.json"),
    ("corpus-after-manifest", "corpus", "manifest.json:1:after"),
    pytest.param("generate-spec", "generate", "spec.json", marks=SLOW),
    pytest.param("generate-second-image", "generate", "*.png:2", marks=SLOW),
    pytest.param("generate-record", "generate", "cat_0.json", marks=SLOW),
    ("generate-metadata", "generate", "metadata.jsonl"),
    pytest.param("generate-timings", "generate", "timings.json", marks=SLOW),
    pytest.param("generate-after-metadata", "generate", "metadata.jsonl:1:after", marks=SLOW),
    pytest.param("suite-state", "suite", "s1.json", marks=SLOW),
    pytest.param("suite-summary", "suite", "summary.json", marks=SLOW),
    pytest.param("train-log-in-step-2", "train", "log.jsonl:2", marks=SLOW),
    pytest.param("train-after-step-2", "train", "config.json:4:after", marks=SLOW),  # whole checkpoint, next write not done (20 s; make slow)
    pytest.param("train-state-of-step-3", "train", "state.pt:3", marks=SLOW),
]

# Fields that record when or how long, never what: they differ between any two runs.
VOLATILE = {"created", "seconds", "provenance", "command", "timings", "load_seconds", "generate_seconds",
            "pipeline_seconds", "started", "finished", "elapsed", "date",
            "resume"}  # resume: the flag a resumed command was given


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def state_of(root: Path, folders: list[str]) -> dict[str, object]:
    """What a command leaves, time fields left out: JSON by value, every other file by content."""
    out: dict[str, object] = {}
    for name in folders:
        base = root / name
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            rel = str(path.relative_to(root))
            if path.is_symlink() or path.is_dir():
                continue
            if path.name == paths.RUN_TIMINGS:  # one entry per invocation: a rerun adds one, by design
                out[rel] = "timings"
            elif path.suffix == ".json":
                out[rel] = _stable(json.loads(path.read_text(encoding="utf-8")))
            elif path.suffix == ".jsonl":
                out[rel] = [_stable(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
            elif path.name == "README.md":  # the model card prints the training config, --resume included
                out[rel] = [line for line in path.read_text(encoding="utf-8").splitlines() if '"resume":' not in line]
            elif path.suffix == ".pt":  # torch.save's bytes depend on how storages were made: compare values
                import torch

                out[rel] = _tensor_digest(torch.load(path, map_location="cpu", weights_only=True))
            elif path.suffix == ".npz":  # the arrays and the key (content hashes of the images and weights)
                import numpy as np

                with np.load(path, allow_pickle=False) as data:
                    out[rel] = {n: hashlib.sha256(data[n].tobytes()).hexdigest() for n in data.files}
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _tensor_digest(value) -> object:
    """A JSON-comparable digest of a torch.load result: tensors by dtype, shape and bytes."""
    import torch

    if isinstance(value, dict):
        return {str(k): _tensor_digest(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tensor_digest(v) for v in value]
    if torch.is_tensor(value):
        return [str(value.dtype), list(value.shape), hashlib.sha256(value.contiguous().numpy().tobytes()).hexdigest()]
    return value


def _root(base: Path, zoo_home: Path) -> Path:
    """A fresh BENCH_HOME, corpora and reports folder (the built zoo shared by link)."""
    home = base / "home"
    home.mkdir(parents=True)
    (home / "zoo").symlink_to(zoo_home / "zoo")
    return base


def _inputs(folder: Path) -> Path:
    """What every row reads, at one path (a training run's identity includes its corpus path)."""
    from train_corpus import make_corpus

    write_prompt_set(folder / "prompts")
    (folder / "s1.toml").write_text(SUITE, encoding="utf-8")
    make_corpus(folder / "tc", rows=4)
    return folder


def bench(root: Path, argv: list[str], inputs: Path, **env: str) -> subprocess.CompletedProcess:
    """`bench argv` in a child process whose folders are under root."""
    env = {**{k: v for k, v in os.environ.items() if k != writes.KILL_VARIABLE},
           "BENCH_HOME": str(root / "home"), "BENCH_CORPORA_DIR": str(root / "corpora"),
           "BENCH_REPORTS_DIR": str(root / "reports"), "BENCH_PROMPTS_DIR": str(inputs / "prompts"),
           "OMP_NUM_THREADS": "1", **env}
    argv = [a.replace("{inputs}", str(inputs)) for a in argv]
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=600, cwd=root)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, zoo_home):
    """Each command run once without a kill (on first use): the state every killed-and-rerun row must reach."""
    prompts = _inputs(tmp_path_factory.mktemp("kill_inputs"))
    done: dict[str, dict] = {}

    def get(command: str) -> tuple[dict, Path]:
        if command not in done:
            root = _root(tmp_path_factory.mktemp(f"whole_{command}"), zoo_home)
            argv, folders = COMMANDS[command]
            result = bench(root, argv, prompts)
            assert result.returncode == 0, result.stderr
            done[command] = state_of(root, folders)
        return done[command], prompts

    return get


@pytest.mark.parametrize(("name", "command", "kill_at"), KILLS)
def test_killed_inside_a_write_then_rerun_equals_an_uninterrupted_run(name, command, kill_at, uninterrupted, tmp_path,
                                                                      zoo_home):
    whole, prompts = uninterrupted(command)
    argv, folders = COMMANDS[command]
    root = _root(tmp_path / "killed", zoo_home)
    killed = bench(root, argv, prompts, **{writes.KILL_VARIABLE: kill_at})
    assert killed.returncode == -9, f"{name}: the hook did not fire ({killed.returncode}): {killed.stderr[-2000:]}"
    rerun = [*argv, "--resume"] if command == "train" else argv
    again = bench(root, rerun, prompts)
    assert again.returncode == 0, again.stderr[-3000:]
    leftovers = [str(p) for p in root.rglob("*") if p.name.endswith(".tmp") or p.name == ".lock"]
    assert not leftovers, leftovers
    state = state_of(root, folders)
    assert set(state) == set(whole), set(state) ^ set(whole)
    differ = {k: _first_difference(whole[k], state[k]) for k in whole if state[k] != whole[k]}
    assert not differ, differ


def _first_difference(a, b, where: str = "") -> str:
    """Where two JSON values first differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where}: {str(a)[:200]} != {str(b)[:200]}"


# ---------------------------------------------------------------- part 15: equal content, equal bytes; modes; fsync
_SAVE = """
import sys, torch
from bench.core.tensorfiles import save_tensors
from bench.models.checkpoint import save_adapter_weights
tensors = {"b.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.ones(3, dtype=torch.float16)}
meta = {k: str(i) for i, k in enumerate(["step", "format", "zeta", "alpha", "ids_hash", "rows", "first_id"])}
save_tensors(sys.argv[1], tensors, meta)
"""


def test_safetensors_with_equal_tensors_and_metadata_are_equal_bytes(tmp_path):
    """safetensors orders metadata by a per-process hash seed; the saved header is canonical across processes."""
    from safetensors import safe_open

    files = [tmp_path / f"{i}.safetensors" for i in range(4)]
    for i, file in enumerate(files):
        env = {**os.environ, "PYTHONHASHSEED": str(i)}
        subprocess.run([sys.executable, "-c", _SAVE, str(file)], check=True, env=env, timeout=120)
    assert len({f.read_bytes() for f in files}) == 1
    with safe_open(str(files[0]), framework="pt") as fh:  # still a valid file, every key and value read back
        assert fh.metadata()["alpha"] == "3" and sorted(fh.keys()) == ["a.bias", "b.weight"]
        assert fh.get_tensor("b.weight").tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    header = files[0].read_bytes()[8:8 + int.from_bytes(files[0].read_bytes()[:8], "little")]
    meta = json.loads(header)["__metadata__"]
    assert list(meta) == sorted(meta) and len(header) % 8 == 0


def test_training_state_with_equal_values_is_equal_bytes(tmp_path):
    import torch

    from bench.training.checkpoint import save_state

    state = {"step": 3, "torch_rng": torch.get_rng_state(), "optimizer": {"state": {0: {"exp_avg": torch.ones(4)}}}}
    for name in ("a.pt", "b.pt"):
        paths.atomic_write(tmp_path / name, lambda tmp: save_state(state, tmp))
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


def test_step_folders_have_the_mode_of_a_plain_folder(tmp_path):
    from bench.training.checkpoint import write_checkpoint

    class Adapter:
        def state_dict(self):
            import torch

            return {"w": torch.zeros(2)}

    config = {"lang": "zh", "base": "b", "base_model": "m", "family": "sd15", "encoder_model": "e", "encoder": "e",
              "adapter": {}, "step": 1}
    step = write_checkpoint(tmp_path / "run", 1, Adapter(), config, {"step": 1}, log_rows=[{"step": 1, "loss": 0.5}])
    plain = tmp_path / "plain"
    plain.mkdir()
    assert stat.S_IMODE(step.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert paths.read_jsonl(step / "log.jsonl") == [{"step": 1, "loss": 0.5}]  # the log is part of the step
    assert paths.read_jsonl(tmp_path / "run" / "log.jsonl") == [{"step": 1, "loss": 0.5}]


def test_final_writes_fsync_the_file_and_its_folder(tmp_path, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "out" / "result.json"
    paths.write_json(target, {"a": 1})
    assert len(synced) == 2 and synced[0].startswith(str(target.parent / ".result.json."))
    assert synced[1] == str(target.parent)
    synced.clear()
    paths.write_text(tmp_path / "cache.txt", "x", durable=False)  # an intermediate file: no fsync
    assert synced == []


def test_kill_hook_is_inert_unless_set(tmp_path, monkeypatch):
    monkeypatch.setenv(writes.KILL_VARIABLE, "other.json")
    paths.write_json(tmp_path / "this.json", {})
    monkeypatch.delenv(writes.KILL_VARIABLE)
    paths.write_json(tmp_path / "other.json", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.json", "this.json"]


def test_a_live_writers_temporary_file_is_kept_a_dead_ones_removed(tmp_path):
    live = tmp_path / f".a.json.{os.getppid()}.x1.tmp"  # the parent (pytest's shell or runner) is alive
    dead = tmp_path / ".b.json.999999999.x2.tmp"
    old = tmp_path / ".c.json.abc.tmp"  # no pid: an older layout, taken for a leftover
    for path in (live, dead, old):
        path.write_text("half")
    assert writes.clean_temps(tmp_path) == [dead, old]
    assert live.exists()
