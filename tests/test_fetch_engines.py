"""`bench fetch-images --engine local|ray|spark`: the distributor img2dataset is handed, and per-row failures.

img2dataset itself is an optional extra (its dependencies pin pandas and pull opencv and wandb), so these tests
run a stand-in named by BENCH_IMG2DATASET: it records the arguments and environment it was given and writes
the output layout img2dataset writes (a parquet table per shard with key, id, status, error_message, and the
successful images), which is what bench reads back.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest

from bench.corpus import fetch as fetch_module

STAND_IN = """import json, os, sys
from pathlib import Path
import polars as pl

args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
Path(os.environ["FAKE_RECORD"]).write_text(json.dumps({"args": args, "ray_address": os.environ.get("RAY_ADDRESS")}))
urls = pl.read_parquet(args["url_list"])
out = Path(args["output_folder"])
(out / "00000").mkdir(parents=True, exist_ok=True)
rows = []
for i, (row_id, url) in enumerate(urls.select("id", "url").iter_rows()):
    key = f"00000{i:04d}"
    ok = "good" in url
    if ok:
        (out / "00000" / f"{key}.png").write_bytes(b"png")
    rows.append({"key": key, "id": row_id, "status": "success" if ok else "failed_to_download",
                 "error_message": None if ok else "HTTP Error 404: Not Found"})
pl.DataFrame(rows, schema={"key": pl.Utf8, "id": pl.Utf8, "status": pl.Utf8, "error_message": pl.Utf8}
             ).write_parquet(out / "00000.parquet")
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    body = tmp_path / "img2dataset.py"
    body.write_text(STAND_IN)
    # A shell wrapper, not a #! line naming the interpreter: a shebang cannot hold a path with spaces.
    script = tmp_path / "img2dataset"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{body}" "$@"\n')
    script.chmod(0o755)
    record = tmp_path / "record.json"
    monkeypatch.setenv(fetch_module.RUNNER_ENV, str(script))
    monkeypatch.setenv("FAKE_RECORD", str(record))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return record


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    names = ["good0.png", "missing.png", "good1.png", "gone.png"]
    pl.DataFrame([{"id": f"u{i}", "lang": "zh", "text_en": f"picture {i}", "text": f"图片 {i}", "source": "web",
                   "image": f"http://images.invalid/{name}"} for i, name in enumerate(names)]
                 ).write_parquet(folder / "s0.parquet")
    return folder


@pytest.mark.parametrize("engine, distributor, address", [
    ("local", "multiprocessing", None), ("ray", "ray", "10.0.0.5:6379"), ("spark", "pyspark", None),
])
def test_engine_picks_the_distributor_and_failures_are_recorded(tmp_path, stand_in, engine, distributor, address):
    corpus = _corpus(tmp_path / "web")
    result = fetch_module.fetch(fetch_module.FetchConfig(corpus=str(corpus), engine=engine, ray_address=address,
                                                         processes=3))
    seen = json.loads(stand_in.read_text())
    assert seen["args"]["distributor"] == distributor and seen["args"]["processes_count"] == "3"
    assert seen["ray_address"] == address
    index = pl.read_parquet(corpus / "fetched.parquet").sort("id")
    assert index["status"].to_list() == ["success", "failed_to_download", "success", "failed_to_download"]
    assert index["error"].to_list() == [None, "HTTP Error 404: Not Found", None, "HTTP Error 404: Not Found"]
    assert index["path"].to_list()[0] == "images/shards/00000/000000000.png"
    assert (result["success"], result["failed"]) == (2, 2)


def test_unknown_engine_is_one_line(tmp_path, stand_in, monkeypatch, capsys):
    from bench import cli

    corpus = _corpus(tmp_path / "web")
    monkeypatch.setattr(sys, "argv", ["bench", "fetch-images", "--corpus", str(corpus), "--engine", "dask"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.strip() == "error: --engine must be one of local, ray, spark, got 'dask'"
    assert not stand_in.exists() and not (corpus / "fetched.parquet").exists()
    assert os.environ.get("RAY_ADDRESS") is None
