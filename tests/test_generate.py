"""The generation harness: run folder format, seeds, batch/process/resume invariance, locks, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from generate_helpers import max_pixel_diff, rows_without_timing, write_prompt_set

from bench.core import paths
from bench.generation import GenerateConfig, generate, image_seed, run_dir_for
from bench.generation.sharding import shard

FAST = dict(samples=2, steps=2, size=16, limit=2, batch_size=4)
REPO = Path(__file__).resolve().parent.parent


def cfg(**kw) -> GenerateConfig:
    return GenerateConfig(**{"model": "asis-tiny-sd15", "prompts": "mini", "lang": "zh", **FAST, **kw})




@pytest.fixture
def prompts_dir(tmp_path, monkeypatch):
    root = tmp_path / "prompts"
    write_prompt_set(root, langs=("zh", "en"))
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    return root


def fresh_home(tmp_path, zoo_home, monkeypatch, name: str) -> Path:
    """Another BENCH_HOME sharing the built zoo, so two runs of one spec can be compared."""
    home = tmp_path / name
    home.mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (home / "zoo").symlink_to(zoo_home / "zoo")
    monkeypatch.setenv("BENCH_HOME", str(home))
    return home


def same_runs(a: Path, b: Path, levels: int = 0) -> None:
    """Same file names, seeds and metadata; the same pixels, bit for bit (or within `levels` of 255)."""
    assert a.name == b.name
    names = sorted(p.name for p in (a / "images").iterdir())
    assert names == sorted(p.name for p in (b / "images").iterdir())
    assert rows_without_timing(a) == rows_without_timing(b)
    assert max(max_pixel_diff(a / "images" / n, b / "images" / n) for n in names) <= levels
    assert json.loads((a / "spec.json").read_text()) == json.loads((b / "spec.json").read_text())


def test_image_seed_depends_only_on_run_seed_prompt_and_sample():
    reference = int.from_bytes(hashlib.sha256(b"0/cat/1").digest()[:8], "big") & (2**63 - 1)
    assert image_seed(0, "cat", 1) == reference
    seeds = {image_seed(s, p, k) for s in (0, 1) for p in ("cat", "dog") for k in (0, 1)}
    assert len(seeds) == 8


@pytest.mark.parametrize("n", [0, 1, 2, 5, 7, 8])
@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_shard_covers_every_key_once(n, world):
    keys = [f"k{i}" for i in range(n)]
    parts = [shard(keys, r, world) for r in range(world)]
    flat = [k for part in parts for k in part]
    assert sorted(flat) == sorted(keys) and len(flat) == len(set(flat))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_run_folder_matches_plain_pipeline(bench_home, prompts_dir):
    """spec.json, metadata and every PNG against a direct diffusers call with the same per-image seed."""
    import numpy as np

    from bench.generation.seeds import generators
    from bench.models.loading import load_system

    c = cfg()
    run = generate(c, progress=False)
    assert run == run_dir_for(c) == run_dir_for(cfg(batch_size=1, compile=True))
    assert run != run_dir_for(cfg(steps=3)) and run != run_dir_for(cfg(seed=1))
    assert run.name.startswith("asis-tiny-sd15-mini-zh-")
    spec = json.loads((run / "spec.json").read_text())
    assert spec["tier"] == "tiny" and spec["size"] == 16 and spec["dtype"] == "float32"
    assert spec["prompts"]["name"] == "mini" and spec["prompts"]["count"] == 2
    assert spec["model"]["base"]["sha256"] and spec["resolved"]["scheduler"]["class"] == "DPMSolverMultistepScheduler"
    rows = [json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()]
    assert [(r["prompt_id"], r["sample"]) for r in rows] == [("cat", 0), ("cat", 1), ("noodles", 0), ("noodles", 1)]
    assert rows[0]["text"] == rows[0]["model_input"] == "一只猫坐在红色的垫子上"
    assert rows[0]["text_en"] == "a cat sitting on a red mat" and rows[0]["file"] == "images/cat_0.png"
    assert all(r["seed"] == image_seed(0, r["prompt_id"], r["sample"]) and r["seconds"] > 0 for r in rows)
    timings = json.loads((run / "timings.json").read_text())
    assert timings[-1]["images"] == 4 and timings[-1]["images_per_second"] > 0

    system = load_system("asis-tiny-sd15", lang="zh", device="cpu", dtype="float32")
    from bench.generation.schedulers import set_scheduler

    set_scheduler(system.pipe, "dpmpp")
    r = rows[3]
    ref = system.pipe(prompt=[r["model_input"]], num_inference_steps=2, guidance_scale=7.5, height=16, width=16,
                      generator=generators([r["seed"]]), output_type="np").images[0]
    ref = (ref * 255).round().astype(np.int16)
    from PIL import Image

    got = np.asarray(Image.open(run / r["file"]).convert("RGB"), dtype=np.int16)
    assert np.abs(got - ref).max() <= 1

    # A rerun skips finished images: nothing is rewritten.
    mtimes = {p.name: p.stat().st_mtime_ns for p in (run / "images").iterdir()}
    generate(c, progress=False)
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in (run / "images").iterdir()}
    rerun = json.loads((run / "timings.json").read_text())[-1]
    assert rerun["images"] == 0 and rerun["ranks"][0]["load_seconds"] == 0  # nothing to do: no model loaded


def test_batch_size_does_not_change_images(tmp_path, zoo_home, monkeypatch, prompts_dir):
    runs = []
    for batch in (1, 3, 8):  # 6 images: one batch of 8, two of 3, six of 1
        fresh_home(tmp_path, zoo_home, monkeypatch, f"batch{batch}")
        runs.append(generate(cfg(batch_size=batch, limit=3, samples=2), progress=False))
    for run in runs[1:]:
        same_runs(runs[0], run)
        assert all((runs[0] / "images" / f.name).read_bytes() == f.read_bytes() for f in (run / "images").iterdir())


def test_english_oracle_consumes_the_pivot(bench_home, prompts_dir):
    run = generate(cfg(model="tiny-sd15-en", limit=1, samples=1), progress=False)
    row = json.loads((run / "metadata.jsonl").read_text().splitlines()[0])
    assert row["model_input"] == row["text_en"] == "a cat sitting on a red mat"
    assert row["text"] == "一只猫坐在红色的垫子上"


def test_lock_stops_a_second_uncoordinated_writer(bench_home, prompts_dir):
    c = cfg(limit=1, samples=1)
    run = run_dir_for(c)
    with paths.locked(paths.run_lock(run)), pytest.raises(paths.LockHeld, match="locked by another process"):
        generate(c, progress=False)
    assert not (run / "images").exists()


_SCRIPT = """
import sys
from bench.generation import GenerateConfig, generate
for limit, samples in ((3, 1), (1, 1)):  # 3 items over 2 processes, then fewer items than processes
    generate(GenerateConfig(model="asis-tiny-sd15", prompts="mini", lang="zh", samples=samples, steps=2, size=16,
                            limit=limit, batch_size=int(sys.argv[1])), progress=False)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **extra}
    env.pop("WORLD_SIZE", None)
    env.pop("RANK", None)
    return env


def _run_group(argv: list[str], timeout: float = 180) -> None:
    """Run a launcher and its workers in their own session; on timeout kill them all (no orphans left)."""
    proc = subprocess.Popen(argv, env=_env(), cwd=REPO, start_new_session=True)
    try:
        assert proc.wait(timeout=timeout) == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


@pytest.mark.slow  # two torchrun-style processes: 10 s (make slow)
def test_two_gloo_processes_equal_one(tmp_path, zoo_home, monkeypatch, prompts_dir):
    script = tmp_path / "gen.py"
    script.write_text(_SCRIPT)
    two = fresh_home(tmp_path, zoo_home, monkeypatch, "two")
    _run_group([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                "127.0.0.1", "--master_port", str(_free_port()), str(script), "2"])
    fresh_home(tmp_path, zoo_home, monkeypatch, "one")
    for limit in (3, 1):
        one_run = generate(cfg(limit=limit, samples=1, batch_size=2), progress=False)
        two_run = paths.child(two / "runs", one_run.name)
        same_runs(one_run, two_run)
        log = json.loads((two_run / "timings.json").read_text())[-1]
        assert log["processes"] == 2 and sorted(r["images"] for r in log["ranks"]) == ([1, 2] if limit == 3 else [0, 1])


def test_killed_run_resumes_to_the_same_images(tmp_path, zoo_home, monkeypatch, prompts_dir):
    script = tmp_path / "gen.py"
    script.write_text(_SCRIPT.replace("((3, 1), (1, 1))", "((3, 2),)"))
    killed = fresh_home(tmp_path, zoo_home, monkeypatch, "killed")
    proc = subprocess.Popen([sys.executable, str(script), "1"], env=_env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    items = None
    while time.time() < deadline and proc.poll() is None:
        found = list((killed / "runs").glob("*/.items/*.json"))
        if found:
            items = found
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert items, "the run never finished an image"
    run = items[0].parent.parent
    kept = {p.name: p.stat().st_mtime_ns for p in (run / "images").glob("*.png")}
    assert 0 < len(kept) < 6 and not (run / "metadata.jsonl").exists()
    (run / "images" / ".wall_1.png.abc123.tmp").write_bytes(b"half a png")  # as a kill mid-write leaves it
    resumed = generate(cfg(limit=3, samples=2, batch_size=4), progress=False)
    assert resumed == run
    finished = [n for n in kept if (run / ".items" / n.replace(".png", ".json")).exists()]
    assert finished and all((run / "images" / n).stat().st_mtime_ns == kept[n] for n in finished)
    fresh_home(tmp_path, zoo_home, monkeypatch, "straight")
    same_runs(resumed, generate(cfg(limit=3, samples=2, batch_size=2), progress=False))


@pytest.mark.parametrize("args, message", [
    (["--model", "pea-zz"], "unknown model 'pea-zz'; did you mean 'pea-zh'?"),
    (["--model", "tiny-taiyi-zh", "--lang", "en"], "does not take 'en' prompts"),
    (["--lang", "ko"], "unknown language for prompt set 'mini' 'ko'"),
    (["--model", "sd15-en"], "not available offline"),
    (["--scheduler", "dpm"], "unknown scheduler 'dpm'"),
    (["--size", "30"], "--size must be a positive multiple of 8"),
])
def test_bad_input_is_one_line_and_exit_2(bench_home, prompts_dir, monkeypatch, capsys, tmp_path, args, message):
    from huggingface_hub import constants

    from bench import cli

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))  # nothing real is cached

    options = {"--model": "asis-tiny-sd15", "--prompts": "mini", "--lang": "zh", "--steps": "2"}
    options.update(zip(args[::2], args[1::2], strict=True))
    monkeypatch.setattr(sys, "argv", ["bench", "generate", *[x for kv in options.items() for x in kv]])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert err.startswith("error: ") and "\n" not in err and message in err, err
    assert not (bench_home / "runs").exists()


def test_models_lists_every_system(capsys):
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.models.pipelines import SYSTEMS

    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0
    listed = {row["name"]: row for row in json.loads(result.output)}
    assert set(SYSTEMS.names()) <= set(listed)
    assert all(name.startswith("pea:") for name in set(listed) - set(SYSTEMS.names()))  # checkpoints
    assert listed["asis-tiny-sd15"]["available_offline"] is True
    assert listed["pea-zh"]["languages"] == ["zh"] and listed["sdxl-en"]["prompt_field"] == "text_en"


@pytest.mark.slow
def test_compiled_unet_gives_the_same_images(tmp_path, zoo_home, monkeypatch, prompts_dir):
    """--compile is left out of the run hash, so it must not change the images (about 75 s of compiling)."""
    fresh_home(tmp_path, zoo_home, monkeypatch, "compiled")
    a = generate(cfg(limit=1, samples=2, compile=True), progress=False)
    fresh_home(tmp_path, zoo_home, monkeypatch, "eager")
    same_runs(a, generate(cfg(limit=1, samples=2), progress=False), levels=1)  # compiled kernels round otherwise


def test_cli_dry_run_then_generate_print_the_run_folder(bench_home, prompts_dir):
    from typer.testing import CliRunner

    from bench.cli import app

    args = ["generate", "--model", "tiny-sdxl-en", "--prompts", "mini", "--lang", "zh", "--samples", "1", "--steps",
            "1", "--size", "16", "--limit", "1"]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "1 images, 16 px, float32 on cpu" in dry.output
    assert not (bench_home / "runs").exists()
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0
    folder = Path(run.stdout.strip().splitlines()[-1])  # stderr may carry a library's load bar
    assert folder == run_dir_for(GenerateConfig(model="tiny-sdxl-en", prompts="mini", lang="zh", samples=1, steps=1,
                                                size=16, limit=1))
    assert (folder / "images" / "cat_0.png").is_file() and f"{folder}  (1 images" in dry.output


def test_resume_regenerates_truncated_and_wrong_size_images(bench_home, prompts_dir):
    from PIL import Image

    from bench.core.errors import BenchError
    from bench.generation.runs import read_run

    c = cfg(limit=2, samples=1)
    run = generate(c, progress=False)
    first, second = sorted((run / "images").glob("*.png"))
    good = {first.name: first.read_bytes(), second.name: second.read_bytes()}
    first.write_bytes(good[first.name][: len(good[first.name]) // 2])  # as a full disk or a copy cut short leaves it
    Image.new("RGB", (8, 8)).save(second)  # decodes, but is not this run's 16 px image
    with pytest.raises(BenchError, match=r"is corrupt or truncated .*rerun the `bench generate` command"):
        read_run(run)
    assert generate(c, progress=False) == run
    assert {p.name: p.read_bytes() for p in (run / "images").glob("*.png")} == good
    assert json.loads((run / "timings.json").read_text())[-1]["images"] == 2
    assert len(read_run(run).rows) == 2
