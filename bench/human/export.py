"""`bench human export`: every vote of a study as JSONL and parquet."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bench.core import paths
from bench.human.votes import vote_records


def export_votes(conn: sqlite3.Connection, study_id: str, out_dir: Path) -> tuple[Path, Path, int]:
    """Write <out>/<study>-votes.jsonl and .parquet; returns both paths and the vote count."""
    import polars as pl

    records = vote_records(conn, study_id)
    stem = f"{paths.safe_id(study_id, what='study name')}-votes"
    jsonl = paths.write_text(Path(out_dir) / f"{stem}.jsonl",
                             "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records))
    schema = {"annotator_languages": pl.List(pl.Struct({"lang": pl.String, "level": pl.String}))}
    frame = pl.DataFrame(records, schema_overrides=schema, infer_schema_length=None) if records else pl.DataFrame()
    parquet = paths.atomic_write(Path(out_dir) / f"{stem}.parquet", lambda tmp: frame.write_parquet(tmp))
    return jsonl, parquet, len(records)
