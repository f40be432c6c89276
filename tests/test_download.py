"""Downloads against a local HTTP server: resume, checksums, extraction, missing datasets."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import numpy as np
import pytest
import soundfile as sf

from topoaudio_zoo.data import SpeechCommandsDataModule
from topoaudio_zoo.data import speech_commands as sc
from topoaudio_zoo.data.download import (
    ChecksumError,
    DatasetNotFoundError,
    DownloadError,
    Remote,
    download_url,
    extract_archive,
)

PAYLOAD = np.random.default_rng(0).integers(0, 256, size=300_000, dtype=np.uint8).tobytes()


class _Server:
    """Serves ``files`` (path → bytes) on 127.0.0.1 with Range support.

    ``cut_after``: path → number of bytes after which the first response to that path closes
    the connection (a simulated interruption). ``ignore_range``: always answer 200.
    ``wrong_offset``: answer a Range request with 206 but the whole file from byte 0.
    """

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.cut_after: dict[str, int] = {}
        self.ignore_range = False
        self.wrong_offset = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and server.wrong_offset:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
                elif rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut_after.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with _Server({"/data.bin": PAYLOAD}) as s:
        yield s


SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_download_verifies_checksums(server, tmp_path):
    dest = download_url(
        f"{server.url}/data.bin", tmp_path / "d.bin", sha256=SHA, md5=MD5, progress=False
    )
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "d.bin.part").exists()


def test_interrupted_download_resumes_on_next_call(server, tmp_path):
    server.cut_after["/data.bin"] = 100_000
    dest = tmp_path / "d.bin"
    with pytest.raises(DownloadError, match=r"data\.bin.*100000 bytes.*d\.bin\.part"):
        download_url(f"{server.url}/data.bin", dest, sha256=SHA, retries=0, progress=False)
    assert (tmp_path / "d.bin.part").stat().st_size == 100_000
    download_url(f"{server.url}/data.bin", dest, sha256=SHA, retries=0, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/data.bin", None), ("/data.bin", "bytes=100000-")]


def test_interrupted_download_resumes_within_retries(server, tmp_path):
    server.cut_after["/data.bin"] = 12_345
    dest = download_url(
        f"{server.url}/data.bin", tmp_path / "d.bin", sha256=SHA, retries=2, progress=False
    )
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/data.bin", "bytes=12345-")


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    (tmp_path / "d.bin.part").write_bytes(b"x" * 5000)
    server.ignore_range = True
    dest = download_url(f"{server.url}/data.bin", tmp_path / "d.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_resume_at_a_wrong_offset_restarts_the_file(server, tmp_path):
    (tmp_path / "d.bin.part").write_bytes(b"x" * 5000)
    server.wrong_offset = True
    dest = download_url(f"{server.url}/data.bin", tmp_path / "d.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/data.bin", "bytes=5000-"), ("/data.bin", None)]


def test_complete_part_file_is_finished_without_body(server, tmp_path):
    (tmp_path / "d.bin.part").write_bytes(PAYLOAD)
    dest = download_url(f"{server.url}/data.bin", tmp_path / "d.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/data.bin", f"bytes={len(PAYLOAD)}-")]


def test_checksum_mismatch_keeps_the_file_as_corrupt(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        download_url(f"{server.url}/data.bin", tmp_path / "d.bin", sha256=wrong, progress=False)
    message = str(info.value)
    assert "d.bin" in message and wrong in message and SHA in message
    assert not (tmp_path / "d.bin").exists()
    assert (tmp_path / "d.bin.corrupt").read_bytes() == PAYLOAD


def test_existing_file_with_wrong_checksum_is_quarantined(tmp_path):
    (tmp_path / "d.bin").write_bytes(b"not the payload")
    with pytest.raises(ChecksumError, match="md5 mismatch"):
        download_url("http://127.0.0.1:9/unused", tmp_path / "d.bin", md5=MD5, progress=False)
    assert (tmp_path / "d.bin.corrupt").read_bytes() == b"not the payload"


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/missing\.bin.*404"):
        download_url(f"{server.url}/missing.bin", tmp_path / "m.bin", progress=False)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_extract_archive_runs_once(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"top/file.txt": b"hello"}))
    out = tmp_path / "out"
    extract_archive(archive, out)
    assert (out / "top" / "file.txt").read_bytes() == b"hello"
    assert (out / ".a.tar.gz.extracted").exists()
    (out / "top" / "file.txt").write_bytes(b"edited")
    extract_archive(archive, out)
    assert (out / "top" / "file.txt").read_bytes() == b"edited"


def test_extract_refuses_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", b"x")
    with pytest.raises(DownloadError, match=r"escape\.txt"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_extract_rejects_non_archives(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"plain text")
    with pytest.raises(DownloadError, match="not a tar or zip"):
        extract_archive(tmp_path / "x.tar.gz", tmp_path / "out")


def test_missing_dataset_lists_files_and_url(tmp_path):
    dm = SpeechCommandsDataModule(str(tmp_path), protocol="v2-12")
    with pytest.raises(DatasetNotFoundError) as info:
        dm.prepare_data()
    message = str(info.value)
    for name in ("validation_list.txt", "testing_list.txt", "_background_noise_"):
        assert str(tmp_path / name) in message
    assert "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz" in message
    assert "download=True" in message


def _speech_commands_archive() -> bytes:
    members = {}
    for i, (word, speaker) in enumerate(
        [("yes", "aaaa0001"), ("no", "aaaa0001"), ("yes", "bbbb0002"), ("no", "cccc0003")]
    ):
        buffer = io.BytesIO()
        tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * np.arange(16000) / 16000)
        sf.write(buffer, tone, 16000, format="WAV", subtype="PCM_16")
        members[f"./{word}/{speaker}_nohash_0.wav"] = buffer.getvalue()
    members["./validation_list.txt"] = b"yes/bbbb0002_nohash_0.wav\n"
    members["./testing_list.txt"] = b"no/cccc0003_nohash_0.wav\n"
    return _tar_gz(members)


def test_prepare_data_downloads_verifies_and_extracts(tmp_path, monkeypatch):
    archive = _speech_commands_archive()
    with _Server({"/sc.tar.gz": archive}) as s:
        remote = Remote(
            url=f"{s.url}/sc.tar.gz",
            filename="sc.tar.gz",
            sha256=hashlib.sha256(archive).hexdigest(),
        )
        monkeypatch.setattr(sc, "SPEECH_COMMANDS_REMOTE", remote)
        root = tmp_path / "speech_commands"
        dm = SpeechCommandsDataModule(str(root), download=True)
        dm.prepare_data()
        dm.prepare_data()
        assert [r for r, _ in s.requests] == ["/sc.tar.gz"]
    dm.setup("fit")
    assert {k: len(v) for k, v in dm.splits().items()} == {"train": 2, "val": 1, "test": 1}
    assert dm.tasks == {"word": ["no", "yes"]}
