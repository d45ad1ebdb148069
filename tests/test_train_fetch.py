"""`bench fetch-images` against a local HTTP server serving fixture images, some broken or missing."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from bench.core.errors import BenchError


def _img2dataset_available() -> bool:
    """img2dataset importable here, on PATH, or named by BENCH_IMG2DATASET (e.g. a side environment)."""
    from bench.corpus.fetch import find_runner

    return find_runner() is not None


@pytest.fixture
def image_server(tmp_path):
    """Serve tmp/www on 127.0.0.1: three good PNGs, one broken file; a fifth URL is a 404."""
    import numpy as np
    from PIL import Image

    www = tmp_path / "www"
    www.mkdir()
    for i in range(3):
        Image.fromarray(np.full((24, 32, 3), 60 * i, dtype=np.uint8)).save(www / f"good{i}.png")
    (www / "broken.png").write_bytes(b"\x89PNG this is not an image")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _url_corpus(folder: Path, url: str) -> Path:
    import polars as pl

    folder.mkdir(parents=True)
    names = ["good0.png", "good1.png", "good2.png", "broken.png", "missing.png"]
    pl.DataFrame([{"id": f"u{i}", "lang": "zh", "text_en": f"picture {i}", "text": f"图片 {i}", "source": "web",
                   "image": f"{url}/{name}"} for i, name in enumerate(names)]).write_parquet(folder / "s0.parquet")
    return folder


def test_fetch_images_downloads_good_urls_and_records_failures(tmp_path, image_server, bench_home):
    if not _img2dataset_available():
        pytest.skip("img2dataset is not installed (pip install 'pea-bench[fetch]')")
    import polars as pl

    from bench.corpus.fetch import FetchConfig, fetch
    from bench.training.data import load_pairs

    corpus = _url_corpus(tmp_path / "corpus", image_server)
    with pytest.raises(BenchError, match="no 'zh' row has a readable image"):
        load_pairs(corpus, "zh")  # nothing fetched yet: every URL row is skipped, and said so
    result = fetch(FetchConfig(corpus=str(corpus), processes=1, threads=2, image_size=64, timeout=5, retries=0))
    assert (result["urls"], result["success"], result["failed"]) == (5, 3, 2)
    index = pl.read_parquet(corpus / "fetched.parquet").sort("id")
    assert index["status"].to_list()[:3] == ["success"] * 3
    # The broken file downloads but cannot be decoded; the missing one is a 404.
    assert index["status"].to_list()[3:] == ["failed_to_resize", "failed_to_download"]
    assert "404" in index["error"][4]
    pairs = load_pairs(corpus, "zh")
    assert pairs.ids == ["u0", "u1", "u2"] and pairs.skipped["not_fetched"] == 2
    assert pairs.image(1).getpixel((0, 0)) == (60, 60, 60)  # the served pixels, unchanged


def test_fetch_without_url_rows_or_downloader_is_a_clear_error(tmp_path, monkeypatch, bench_home):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from train_corpus import make_corpus

    from bench.corpus import fetch as fetch_module

    corpus = make_corpus(tmp_path / "local", rows=2)
    with pytest.raises(BenchError, match="no URL images"):
        fetch_module.fetch(fetch_module.FetchConfig(corpus=str(corpus)))
    corpus = _url_corpus(tmp_path / "web", "http://127.0.0.1:9")
    monkeypatch.setattr(fetch_module, "find_runner", lambda: None)
    with pytest.raises(BenchError, match=r"pip install 'pea-bench\[fetch\]'"):
        fetch_module.fetch(fetch_module.FetchConfig(corpus=str(corpus)))
    assert not shutil.which("definitely-not-img2dataset")
