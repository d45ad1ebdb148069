"""Foundation: registry errors, stable config hashes, atomic writes, safe ids, languages, CLI start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from bench.core import paths
from bench.core.config import config_hash, from_dict, stable_hash
from bench.core.errors import BenchError
from bench.core.languages import LANGUAGES, get_language
from bench.core.registry import Registry


def test_registry_suggests_the_closest_name():
    reg: Registry[int] = Registry("language", hint="bench languages lists them")
    reg.register("ko", 1)
    reg.register("ja", 2)
    reg.register("ru", 3)  # as close to 'kr' as 'ko' by edit ratio; the shared first letter decides
    with pytest.raises(BenchError) as err:
        reg.get("kr")
    assert str(err.value) == "unknown language 'kr'; did you mean 'ko'? (bench languages lists them)"
    with pytest.raises(ValueError):
        reg.register("ko", 3)


@dataclass(frozen=True)
class _Cfg:
    lang: str = "ko"
    steps: int = 10
    batch_size: int = 4
    tags: tuple[str, ...] = ()


def test_config_hash_is_stable_and_ignores_excluded_fields():
    a, b = _Cfg(tags=("x",)), _Cfg(tags=("x",), batch_size=8)
    assert config_hash(a) == config_hash(_Cfg(tags=("x",)))
    assert config_hash(a) != config_hash(b)
    assert config_hash(a, exclude=("batch_size",)) == config_hash(b, exclude=("batch_size",))
    # Pinned so a change to the canonical form (which would rename every output folder) is noticed.
    assert stable_hash({"b": 1, "a": [1, 2]}) == stable_hash({"a": [1, 2], "b": 1})
    assert from_dict(_Cfg, {"lang": "ja", "tags": ["a"]}) == _Cfg(lang="ja", tags=("a",))
    with pytest.raises(BenchError, match="did you mean 'steps'"):
        from_dict(_Cfg, {"step": 3})


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    paths.write_json(target, {"a": 1})

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        paths.atomic_write(target, broken)
    assert paths.read_json(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".", "..", "x" * 201, "/etc", "a\x00b"])
def test_safe_id_rejects_path_tricks(bad):
    with pytest.raises(BenchError):
        paths.safe_id(bad)


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    lock = tmp_path / "run.lock"
    with paths.locked(lock), pytest.raises(paths.LockHeld), paths.locked(lock):
        pass
    lock.write_text("999999999")  # a pid that cannot be running
    with paths.locked(lock):
        assert lock.read_text() == str(os.getpid())
    assert not lock.exists()


def test_lock_waits_for_a_live_holder_when_asked(tmp_path):
    lock = tmp_path / "zoo.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from bench.core import paths\n"
         f"with paths.locked(paths.Path({str(lock)!r})):\n"
         "    print('held', flush=True); time.sleep(1.5)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(paths.LockHeld), paths.locked(lock):
        pass
    start = time.perf_counter()
    with paths.locked(lock, wait_s=30):
        waited = time.perf_counter() - start
    holder.wait(timeout=30)
    assert 0.3 < waited < 30


# A racer that, like a preempted process, may stall before deleting a file: the old takeover (read the
# dead pid, unlink, link) then let 4-6 of 6 racers hold the lock at once.
_RACER = """
import random, sys, time
from pathlib import Path
from bench.core import paths
lock, start, log = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
_unlink = Path.unlink
def stalling_unlink(self, *args, **kwargs):
    time.sleep(random.uniform(0, 0.3))
    return _unlink(self, *args, **kwargs)
Path.unlink = stalling_unlink
while time.time() < start:
    pass
try:
    with paths.locked(lock):
        won = 1
        time.sleep(1.0)
except paths.LockHeld:
    won = 0
with open(log, "a") as out:
    out.write(str(won))
"""


def test_racing_processes_take_over_a_dead_lock_one_at_a_time(tmp_path):
    lock, log = tmp_path / "run.lock", tmp_path / "won.txt"
    lock.write_text("999999999")  # left by a process that died
    start = time.time() + 1.5
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, str(lock), str(start), str(log)])
              for _ in range(6)]
    assert [r.wait(timeout=120) for r in racers] == [0] * 6
    assert sorted(log.read_text()) == sorted("100000"), "more than one process took the dead lock"
    assert not lock.exists()


def test_language_table_covers_the_required_languages():
    for code in ["en", "zh", "ko", "ja", "ru", "it", "de", "fr", "es", "ar", "hi", "th", "vi"]:
        lang = get_language(code)
        assert lang.nllb.split("_")[1] in {"Latn", "Hans", "Hang", "Jpan", "Cyrl", "Arab", "Deva", "Thai"}
    assert get_language("ko").nllb == "kor_Hang"
    assert get_language("zh").m2m100 == "zh"
    assert len(LANGUAGES.names()) >= 13


def test_normalisers():
    assert get_language("zh").normalise("  漢字　的 麵條 ") == "汉字 的 面条"
    assert get_language("ja").normalise("ｶﾀｶﾅ　ＡＢＣ") == "カタカナ ABC"


def _bench(*args):
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


def test_help_is_fast_and_unknown_language_is_one_line():
    start = time.perf_counter()
    result = _bench("--help")
    assert result.returncode == 0 and "languages" in result.stdout
    assert time.perf_counter() - start < 1.5  # includes interpreter start-up
    table = _bench("languages")
    assert "kor_Hang" in table.stdout
