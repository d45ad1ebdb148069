"""One content-hash helper (bench.core.hashing): streamed SHA-256 equal to hashlib's on the whole bytes."""

from __future__ import annotations

import hashlib

from bench.core.hashing import sha256_file, sha256_files


def test_hashes_equal_hashlib_on_the_bytes_and_names_count(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(bytes(range(256)) * 40000)  # ~10 MB: several streamed chunks
    b.write_bytes(b"second")
    assert sha256_file(a) == hashlib.sha256(a.read_bytes()).hexdigest()
    expected = hashlib.sha256(b"a.bin\0" + a.read_bytes() + b"b.bin\0" + b"second").hexdigest()
    assert sha256_files([a, b]) == expected
    b.rename(tmp_path / "c.bin")
    assert sha256_files([a, tmp_path / "c.bin"]) != expected  # a rename shows
