"""File fingerprints: the one sha256 of a file that ingest (same file twice), backups and the doctor compare."""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20  # read 1 MiB at a time: a backup of a large store never sits in memory whole


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file's bytes.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "x.txt"
    ...     _ = p.write_bytes(b"abc")
    ...     file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
