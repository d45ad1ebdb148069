"""Every option of every command (bench serve aside: it starts a server) given bad values: each run must end in
one `error:` line with exit 2, or be one of the few listed cases where the value is valid and the command does
the right thing. `pytest -s -m slow tests/test_bad_inputs_sweep.py` prints the tally by command.

The values are generic (negative, zero, not a number, NaN, huge, empty, unknown names, traversal, a file where a
folder goes, a folder where a file goes, a zero-width space); a required option the case does not test gets
'nosuch', so many rows are refused for that name first: the sweep shows that no input crashes or passes
silently; the table in test_bad_inputs_accepted.py shows that each case is refused for the right reason.
"""

from __future__ import annotations

import collections
import contextlib
import io
import signal
import sys

import pytest
from clirun import command_paths

BAD = {"int": ["-1", "0", "abc", "99999999999999999999", "1.5", ""],
       "float": ["nan", "-inf", "-1", "abc", ""],
       "str": ["", "nosuch", "../x", "a/b", "afile", "adir", "\u200b"]}
SKIP = {("serve",)}
# Valid values that do the right thing: --out names the file to write (created, with its folders).
ACCEPTED = {("leaderboard", "--out", v) for v in ("nosuch", "../x", "a/b", "afile", "\u200b")}




def _cases():
    import typer

    for path, cmd in command_paths():
        if tuple(path) in SKIP:
            continue
        required = [p for p in cmd.params if getattr(p, "required", False)]
        for p in cmd.params:
            if p.name in ("help", "config_file") or not p.opts or getattr(p, "is_flag", False):
                continue
            flag = next((o for o in p.opts if o.startswith("--")), p.opts[0])
            for value in BAD.get(str(p.bare_type()), BAD["str"]):
                argv = [*path, value] if isinstance(p, typer.core.TyperArgument) else [*path, flag, value]
                for other in required:
                    if other is p:
                        continue
                    if isinstance(other, typer.core.TyperArgument):
                        argv.insert(len(path), "nosuch-arg")
                    else:
                        argv += [other.opts[0], "nosuch"]
                if path == ["generate"]:
                    argv.append("--dry-run")
                yield " ".join(path), flag, value, argv


class _Alarm(Exception):
    pass


def _run(argv: list[str]) -> tuple[object, str, str]:
    from bench import cli

    out, err = io.StringIO(), io.StringIO()
    saved, sys.argv = sys.argv, ["bench", *argv]
    signal.alarm(60)  # an accepted bad value that started real work would hang the sweep
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
                code: object = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0
    except _Alarm:
        code = "timeout"
    except BaseException as exc:  # noqa: BLE001  (an escaped exception is what the sweep looks for)
        code = f"raised {type(exc).__name__}"
    finally:
        signal.alarm(0)
        sys.argv = saved
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_every_bad_value_of_every_option_is_one_line_exit_2(tmp_path, monkeypatch):
    def alarm(*_):
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, alarm)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    tally: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    wrong = []
    try:
        for command, flag, value, argv in _cases():
            code, out, err = _run(argv)
            lines = [x for x in err.strip().splitlines() if not x.startswith(("INFO ", "WARNING "))]
            if code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err:
                tally[command]["one line, exit 2"] += 1
            elif code == 0 and (command, flag, value) in ACCEPTED:
                tally[command]["correct behaviour, exit 0"] += 1
            else:
                wrong.append((argv, code, (out + err).strip().splitlines()[-2:]))
    finally:
        signal.signal(signal.SIGALRM, previous)
    total = sum(sum(c.values()) for c in tally.values()) + len(wrong)
    print(f"\n{total} bad inputs across {len(tally)} commands")
    for command, counts in sorted(tally.items()):
        print(f"  {command:24s} {dict(counts)}")
    assert total >= 1000 and len(tally) >= 24
    assert not wrong, "\n".join(f"{code} {argv}: {lines}" for argv, code, lines in wrong)
