"""Fetching dataset archives: resumable HTTP downloads, checksums, one-time extraction.

A download goes to ``<dest>.part`` and resumes from its size with an HTTP ``Range`` request when
it is interrupted (automatically ``retries`` times, and again on the next call). A finished
file is verified against its checksum before it is renamed to ``dest``; a file that fails the
check is moved to ``<dest>.corrupt`` (replacing an older one) so that nothing is silently lost
and the next call downloads afresh. Archives are extracted once: a marker file
``<dest>/.<archive name>.extracted`` records a completed extraction.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from ..atomic import atomic_write_text

__all__ = [
    "ChecksumError",
    "DatasetNotFoundError",
    "DownloadError",
    "Remote",
    "download_url",
    "extract_archive",
    "fetch_and_extract",
    "file_digest",
    "require_paths",
    "verify_checksum",
]


class DownloadError(RuntimeError):
    """A download or an extraction failed; the message names the URL or file and the reason."""


class ChecksumError(DownloadError):
    """A downloaded file does not match its published checksum."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not where it was expected; the message lists what is missing and its URLs."""


@dataclass(frozen=True)
class Remote:
    """One downloadable archive of a dataset.

    Attributes:
        url: where to get it.
        filename: the archive's file name once downloaded.
        sha256, md5: published checksum (hex), or ``None`` where none is published.
        checksum_source: where the checksum was taken from.
    """

    url: str
    filename: str
    sha256: str | None = None
    md5: str | None = None
    checksum_source: str = ""


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``algorithm``: any :mod:`hashlib` name)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(
    path: str | os.PathLike, sha256: str | None = None, md5: str | None = None
) -> None:
    """Check a file against the given checksums; raise :class:`ChecksumError` on a mismatch."""
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is None:
            continue
        got = file_digest(path, algorithm)
        if got != expected.lower():
            raise ChecksumError(f"{path}: {algorithm} mismatch: expected {expected}, got {got}")


def download_url(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    md5: str | None = None,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    chunk_size: int = 1 << 20,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, resuming an interrupted download, and verify it.

    Args:
        url: http(s) or file URL.
        dest: the file to create; its folder is created if needed.
        sha256, md5: expected checksums (hex); ``None`` skips that check.
        retries: how many times an interrupted transfer is resumed within this call.
        timeout: seconds to wait on the connection.
        chunk_size: bytes read at a time.
        progress: show a tqdm progress bar.

    Returns:
        ``dest``. An existing ``dest`` is verified and kept without downloading.

    Raises:
        DownloadError: naming the URL, on an HTTP error or when the transfer is still
            incomplete after ``retries`` resumptions (``<dest>.part`` is kept for the next call).
        ChecksumError: naming the file, the expected and the computed checksum; the file is
            moved to ``<dest>.corrupt``.
    """
    if retries < 0:
        raise ValueError(f"retries: expected a non-negative integer, got {retries}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        _verify_or_quarantine(dest, dest, sha256, md5)
        return dest
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, chunk_size, progress)
            break
        except (OSError, http.client.HTTPException, _IncompleteError) as err:
            if isinstance(err, urllib.error.HTTPError) or attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{url}: download failed after {have} bytes ({err}); the partial file "
                    f"{part} is kept and the next call resumes it"
                ) from err
    _verify_or_quarantine(part, dest, sha256, md5)
    os.replace(part, dest)
    return dest


class _IncompleteError(Exception):
    """The server closed the connection before sending every byte it announced."""


def _verify_or_quarantine(path: Path, dest: Path, sha256: str | None, md5: str | None) -> None:
    try:
        verify_checksum(path, sha256=sha256, md5=md5)
    except ChecksumError as err:
        corrupt = dest.with_name(dest.name + ".corrupt")
        os.replace(path, corrupt)
        raise ChecksumError(
            f"{dest}: {str(err).split(': ', 1)[1]}; the file was moved to {corrupt}"
        ) from None


def _transfer(url: str, part: Path, timeout: float, chunk_size: int, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (or restart it when the server ignores Range)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:
            total = _content_range_total(err.headers.get("Content-Range"))
            if total == have:
                return
            part.unlink()
            raise _IncompleteError(f"{part} was larger than the remote file; restarting") from err
        raise
    with response:
        resumed = have > 0 and response.status == 206
        if resumed and not (response.headers.get("Content-Range") or "").startswith(
            f"bytes {have}-"
        ):
            part.unlink()
            raise _IncompleteError(f"the server did not resume {url} at byte {have}; restarting")
        start = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        with (
            open(part, "ab" if resumed else "wb") as f,
            tqdm(
                total=total,
                initial=start,
                unit="B",
                unit_scale=True,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            for chunk in iter(lambda: response.read(chunk_size), b""):
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise _IncompleteError(f"received {size} of {total} bytes")


def _content_range_total(value: str | None) -> int | None:
    """The total size in a ``Content-Range: bytes */TOTAL`` header, when given."""
    if value is None or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a tar (any compression) or zip archive into ``dest`` once.

    A marker file ``dest/.<archive name>.extracted`` is written after a complete extraction and
    makes later calls return at once; an interrupted extraction is redone. Members that would
    land outside ``dest`` (absolute paths, ``..``) are refused.

    Returns:
        ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    marker = dest / f".{archive.name}.extracted"
    if marker.exists():
        return dest
    if not archive.is_file():
        raise DownloadError(f"{archive}: no such archive")
    dest.mkdir(parents=True, exist_ok=True)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            _check_members(archive, (m.name for m in tar.getmembers()))
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_members(archive, zf.namelist())
            zf.extractall(dest)
    else:
        raise DownloadError(f"{archive}: not a tar or zip archive")
    atomic_write_text(marker, f"{archive.name}\n")
    return dest


def _check_members(archive: Path, names: Iterable[str]) -> None:
    for name in names:
        member = PurePosixPath(name)
        if member.is_absolute() or ".." in member.parts:
            raise DownloadError(f"{archive}: refusing the member {name!r} outside the target")


def fetch_and_extract(remote: Remote, root: str | os.PathLike, progress: bool = True) -> Path:
    """Download ``remote`` into ``root`` (resuming, verifying) and extract it there once."""
    root = Path(root)
    archive = download_url(
        remote.url, root / remote.filename, sha256=remote.sha256, md5=remote.md5, progress=progress
    )
    return extract_archive(archive, root)


def require_paths(
    dataset: str,
    root: str | os.PathLike,
    paths: Sequence[Path],
    remotes: Sequence[Remote],
    make: str = "",
) -> None:
    """Raise :class:`DatasetNotFoundError` listing every path of ``paths`` that does not exist.

    The message names the dataset, its root, each missing path, the URLs to download (if
    any; and reminds that ``download=True`` fetches them) and ``make``, the command that
    renders an offline stand-in (e.g. ``topoaudio-zoo make-corpus nsynth ROOT``).
    """
    missing = [p for p in paths if not Path(p).exists()]
    if not missing:
        return
    lines = [f"{dataset} not found under {root}: missing"]
    lines += [f"  {p}" for p in missing]
    if remotes:
        lines.append(f"Download and extract into {root}:")
        lines += [f"  {r.url}" for r in remotes]
        lines.append("or pass download=True to fetch and extract them automatically.")
    if make:
        lines.append(f"Or render the offline corpus in its place: {make}")
    raise DatasetNotFoundError("\n".join(lines))
