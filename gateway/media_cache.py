"""The media cache folder: each file beside a JSON sidecar with its type and name, written
to a temp file and renamed when whole (a reader never sees half a file). Blocking: the
media store calls these in a thread."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec


class MediaFile(msgspec.Struct, frozen=True):
    """A cached media file: where it is, its type, and the customer's name for it."""

    path: Path
    mime_type: str
    filename: str | None
    size: int


class Sidecar(msgspec.Struct, frozen=True):
    """What the cache keeps next to the bytes (the provider's type, the file's name)."""

    mime_type: str
    filename: str | None = None
    size: int = 0


class Partial:
    """A cache file being written: a temp file in the folder, renamed into place when whole."""

    def __init__(self, folder: Path, key: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self, target: Path) -> None:
        self._file.close()
        self.path.replace(target)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def commit_sidecar(folder: Path, key: str, sidecar: Sidecar) -> None:
    partial = Partial(folder, f"{key}.json")
    try:
        partial.write(msgspec.json.encode(sidecar))
        partial.commit(folder / f"{key}.json")
    finally:
        partial.discard()


def read_cached(folder: Path, key: str) -> MediaFile | None:
    """The cached file, or None if it is not whole (no bytes, or no sidecar yet)."""
    data, meta = folder / key, folder / f"{key}.json"
    try:
        sidecar = msgspec.json.decode(meta.read_bytes(), type=Sidecar)
        size = data.stat().st_size
    except (OSError, msgspec.MsgspecError):
        return None
    return MediaFile(data, sidecar.mime_type, sidecar.filename, size)
