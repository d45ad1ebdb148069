"""Atomic, durable writes: every file pea-bench writes goes through atomic_write (bench.core.paths re-exports it).

A file is written to a temporary file beside it, `.<name>.<pid>.<random>.tmp` (the pid tells a dead writer's
leftovers from a live one's), fsynced, renamed into place, and its folder fsynced. A symlink is written
through to its target and stays a link; a device or a pipe (`--out /dev/stdout`) is written through, never
replaced; a folder is refused. A full disk is one BenchError naming the folder. `staged` builds a report of
several files in a temporary folder and moves them into place only once all of them are written.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

_UMASK = os.umask(0)
os.umask(_UMASK)

# Test hook: "NAME[:N][:after]" SIGKILLs this process inside its N-th atomic write of a file called NAME (a
# glob), after the temporary file is complete and before its rename (or just after it, with ':after').
KILL_VARIABLE = "BENCH_TEST_KILL_AT"
_kill_counts: dict[str, int] = {}

_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(BenchError):
    """No space left where a file was being written."""


def atomic_write(path: Path, write: Callable[..., Any], durable: bool = True) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it into place; returns `path`.

    `durable` fsyncs the file and its folder (a power loss cannot leave an empty file); intermediate files that
    are cheap to redo (per-image records, cache entries) pass False.
    """
    path = Path(path)
    target = write_target(path)
    if target.exists() and not target.is_file():
        _write_through(target, write)
        return path
    folder = target.parent
    created = _missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        _remove_empty(created)
        raise _os_error(exc, folder) from None
    tmp = Path(tmp_name)
    try:
        _fill(write, tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        if durable:
            fsync_path(tmp)
        _maybe_kill(target.name, "before")
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _remove_empty(created)  # a failed write leaves no trace, not even the folders made for it
        if isinstance(exc, Exception) and is_disk_full(exc, folder):
            raise disk_full(folder) from None
        raise
    if durable:
        fsync_path(folder)
    _maybe_kill(target.name, "after")
    return path


def _missing_folders(folder: Path) -> list[Path]:
    """The folders a write into `folder` will create, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _fill(write: Callable[..., Any], tmp: Path) -> None:
    """Run one writer on its temporary file (a seam: the full-disk tests make it fail as a full disk does)."""
    write(tmp)


def write_target(path: Path) -> Path:
    """The file a write to `path` replaces: a symlink's target (the link stays); a folder is refused."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.is_dir():
        raise BenchError(f"{path} is a folder; give the path of a file to write (a new name inside it, say)")
    return target


def _write_through(target: Path, write: Callable[..., Any]) -> None:
    """A device, pipe or socket cannot be replaced: write to a private temporary file, then copy its bytes in."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fill(write, tmp)
        with open(tmp, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    except OSError as exc:
        if is_disk_full(exc, target.parent):
            raise disk_full(target) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def is_disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether a failed write ran out of space: ENOSPC/EDQUOT anywhere in its chain, or a folder with no free block.

    Libraries that write on their own (polars, safetensors, torch.save) lose the errno on the way up; the free
    space left is the one sure sign then."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return True
        if "No space left on device" in str(seen) or "os error 28" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


def disk_full(folder: Path) -> DiskFull:
    """The one line for a full disk: which folder, and what to do."""
    return DiskFull(f"no space left on the disk holding {folder}; nothing was replaced: free space there or point "
                    f"BENCH_HOME / BENCH_*_DIR / --out at another disk")


def _os_error(exc: OSError, folder: Path) -> BaseException:
    """A full disk becomes DiskFull; any other OSError is passed on (the CLI names its file)."""
    return disk_full(folder) if exc.errno in _FULL else exc


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _maybe_kill(name: str, when: str) -> None:
    """The kill test hook (see KILL_VARIABLE); does nothing unless the variable is set."""
    spec = os.environ.get(KILL_VARIABLE)
    if not spec:
        return
    pattern, _, rest = spec.partition(":")
    nth, _, moment = rest.partition(":")
    if (moment or "before") != when or not fnmatch.fnmatchcase(name, pattern):
        return
    _kill_counts[spec] = _kill_counts.get(spec, 0) + 1
    if _kill_counts[spec] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def temp_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder inside `parent` for a write that is renamed into place (mode as a plain mkdir's)."""
    try:
        Path(parent).mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise _os_error(exc, Path(parent)) from None
    # mkdtemp makes the folder private (0700); a step or zoo folder is meant to be read like any other.
    os.chmod(folder, 0o777 & ~_UMASK)
    return folder


def writer_pid(name: str) -> int | None:
    """The pid recorded in a temporary file's or folder's name (None when it records none)."""
    for part in name.split(".")[1:]:
        if part.isdigit():
            return int(part)
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_temps(folder: Path, pattern: str = ".*.tmp") -> list[Path]:
    """Delete temporary files and folders (`pattern`) that dead writers left in `folder`; returns them.

    A temporary whose name carries the pid of a live process other than this one belongs to a writer still at
    work and is kept; one without a pid (an older layout) is taken to be a leftover.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.glob(pattern)):
        pid = writer_pid(path.name)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


class Stage:
    """A temporary folder standing in for `root` while a report of several files is written."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.root, self.folder = Path(root), Path(folder)

    def place(self, final: Path) -> Path:
        """Where to write the file that ends up at `final` (a path under root)."""
        return self.folder / Path(final).relative_to(self.root)


@contextlib.contextmanager
def staged(root: Path) -> Iterator[Stage]:
    """Write a report's files into a Stage; only when the block ends without error do they move into root.

    Nothing under root changes before every file is written, so a full disk or an error leaves the previous
    report whole. The moves are renames on one disk (no new space needed); files in root that the report does
    not write are kept.
    """
    root = Path(root)
    folder = temp_folder(root, ".staged.")
    try:
        yield Stage(root, folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))
        folders = set()
        for file in files:
            final = write_target(root / file.relative_to(folder))
            if final.exists() and not final.is_file():
                _write_through(final, lambda tmp, f=file: shutil.copyfile(f, tmp))
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, final)
            folders.add(final.parent)
        for changed in sorted(folders):
            fsync_path(changed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
