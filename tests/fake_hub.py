"""A Hugging Face Hub stand-in on 127.0.0.1 for tests: the HTTP API ``huggingface_hub`` uses.

:class:`FakeHub` keeps model repositories in memory (commits of ``{path: bytes}``, branches and
tags) and serves them from a stdlib ``http.server`` in a thread:

- downloads, as ``hf_hub_download`` asks for them: ``HEAD``/``GET
  /{org}/{name}/resolve/{revision}/{path}`` with ``X-Repo-Commit``, ``ETag`` (the git blob
  SHA-1 of the file) and ``Content-Length``; ``revision`` is a branch, a tag or a full commit
  SHA; failures carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
  ``EntryNotFound``) so that the client raises its own exceptions. Large-file types
  (``.safetensors``, ``.bin``, ...: Git LFS on the Hub) are answered like the Hub does, with a
  302 to a "CDN" (``GET /cdn/{sha256}`` on ``localhost``, another origin, so the client drops
  the token) carrying ``X-Linked-Etag`` (the SHA-256) and ``X-Linked-Size``; there is no Xet;
- uploads, as ``create_repo`` + ``create_branch`` + ``upload_folder`` make them:
  ``POST /api/repos/create``, ``POST /api/validate-yaml``,
  ``POST /api/models/{repo}/preupload/{rev}`` (every file ``"regular"``: no LFS, no Xet),
  ``POST /api/models/{repo}/branch/{branch}`` and ``POST /api/models/{repo}/commit/{rev}``
  (the NDJSON payload with base64 ``file`` and ``deletedFile`` lines).

Every request is logged (:attr:`FakeHub.requests`) so that tests can check what reached the
"network". :func:`point_client_at` aims the client at a server by patching the module-level
values ``huggingface_hub`` reads from the environment at import.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

__all__ = ["FakeHub", "Request", "git_blob_sha1", "point_client_at"]

_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API_REPO = re.compile(
    r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<op>preupload|commit|branch)/(?P<rev>[^/]+)$"
)
_LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
_GITATTRIBUTES = b"".join(
    b"*%s filter=lfs diff=lfs merge=lfs -text\n" % s.encode() for s in _LFS_SUFFIXES
)


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a blob: what the Hub sends as the ETag of a non-LFS file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    authorization: str | None


@dataclass
class _Repo:
    private: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None


class FakeHub:
    """Model repositories served over HTTP on 127.0.0.1 (a free port).

    Args:
        tokens: if given, uploads need ``Authorization: Bearer <one of them>`` (else 401), and
            private repositories can only be downloaded with one.
    """

    def __init__(self, tokens: set[str] | None = None) -> None:
        self.repos: dict[str, _Repo] = {}
        self.tokens = set(tokens or ())
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # ------------------------------------------------------------------ repository content
    def create_repo(self, repo_id: str, private: bool = False) -> str:
        """An empty repository (one commit with ``.gitattributes``, as the Hub makes it)."""
        with self._lock:
            if repo_id in self.repos:
                raise ValueError(f"{repo_id} exists")
            self.repos[repo_id] = _Repo(private=private)
        return self.commit(repo_id, {".gitattributes": _GITATTRIBUTES}, message="initial commit")

    def commit(
        self,
        repo_id: str,
        files: dict[str, bytes],
        branch: str = "main",
        message: str = "",
        deleted: tuple[str, ...] = (),
    ) -> str:
        """Add a commit on ``branch`` changing ``files``; returns its SHA.

        A new branch starts from ``main``, as the Hub's ``create_branch`` does by default.
        """
        with self._lock:
            repo = self.repos[repo_id]
            parent = repo.branches.get(branch, repo.branches.get("main"))
            tree = dict(repo.commits[parent]) if parent else {}
            tree.update(files)
            for path in deleted:
                tree.pop(path, None)
            self._counter += 1
            listing = sorted((path, git_blob_sha1(data)) for path, data in tree.items())
            seed = json.dumps([parent, listing, message, self._counter]).encode()
            sha = hashlib.sha1(seed).hexdigest()
            repo.commits[sha] = tree
            repo.messages[sha] = message
            repo.branches[branch] = sha
            return sha

    def commit_folder(self, repo_id: str, folder: str | Path, branch: str = "main") -> str:
        """Commit every file of ``folder`` (creating the repository if needed)."""
        if repo_id not in self.repos:
            self.create_repo(repo_id)
        folder = Path(folder)
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        return self.commit(repo_id, files, branch=branch, message=f"upload {folder.name}")

    def lfs_blob(self, sha256: str) -> bytes | None:
        """The content of a large file by its SHA-256 (what the CDN serves)."""
        for repo in self.repos.values():
            for tree in repo.commits.values():
                for path, content in tree.items():
                    if (
                        path.endswith(_LFS_SUFFIXES)
                        and hashlib.sha256(content).hexdigest() == sha256
                    ):
                        return content
        return None

    def tag(self, repo_id: str, tag: str, revision: str) -> None:
        """Point ``tag`` at the commit ``revision`` resolves to."""
        with self._lock:
            repo = self.repos[repo_id]
            repo.tags[tag] = repo.resolve(revision)

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The tree of ``revision``."""
        repo = self.repos[repo_id]
        return dict(repo.commits[repo.resolve(revision)])

    # ---------------------------------------------------------------------------- serving
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the fake Hub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def cdn_url(self) -> str:
        """The same server under another origin (``localhost``), standing in for the CDN."""
        return self.url.replace("127.0.0.1", "localhost")

    def start(self) -> FakeHub:
        """Serve in a daemon thread; returns ``self``."""
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: later connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def log(self, method: str, path: str, authorization: str | None) -> None:
        with self._lock:
            self.requests.append(Request(method, path, authorization))


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: one request per connection, so a stopped server leaves nothing open."""

    hub: FakeHub
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``FakeHub.requests`` instead."""

    # ------------------------------------------------------------------------- responses
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/json", **(headers or {})}
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, status: int, code: str | None, message: str, **headers: str) -> None:
        extra = {"X-Error-Message": message, **headers}
        if code is not None:
            extra["X-Error-Code"] = code
        self._json(status, {"error": message}, extra)

    # --------------------------------------------------------------------------- helpers
    def _token_ok(self) -> bool:
        if not self.hub.tokens:
            return True
        auth = self.headers.get("Authorization") or ""
        return auth.startswith("Bearer ") and auth[len("Bearer ") :] in self.hub.tokens

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> str:
        path = urlsplit(self.path).path
        self.hub.log(self.command, path, self.headers.get("Authorization"))
        return path

    # ---------------------------------------------------------------------------- methods
    def do_HEAD(self) -> None:
        self._resolve(self._record())

    def do_GET(self) -> None:
        path = self._record()
        if path == "/api/agent-harnesses":  # the client's user-agent detection, once a process
            self._json(200, {"standardEnvVars": [], "harnesses": {}})
        elif path.startswith("/cdn/"):
            content = self.hub.lfs_blob(path[len("/cdn/") :])
            if content is None:
                self._error(404, None, "NoSuchKey")
            else:
                self._send(200, content, {"Content-Type": "application/octet-stream"})
        else:
            self._resolve(path)

    def do_POST(self) -> None:
        path = self._record()
        body = self._body()
        if path == "/api/repos/create":
            self._create_repo(json.loads(body or b"{}"))
        elif path == "/api/validate-yaml":
            self._json(200, {"errors": [], "warnings": []})
        elif match := _API_REPO.match(path):
            self._repo_api(match["op"], match["repo"], unquote(match["rev"]), body)
        else:
            self._error(404, None, f"no route {path}")

    # ---------------------------------------------------------------------------- download
    def _resolve(self, path: str) -> None:
        match = _RESOLVE.match(path)
        if match is None:
            self._error(404, None, f"no route {path}")
            return
        repo_id, revision, filename = match["repo"], unquote(match["rev"]), unquote(match["path"])
        repo = self.hub.repos.get(repo_id)
        if repo is None or (repo.private and not (self.hub.tokens and self._token_ok())):
            self._error(401, "RepoNotFound", "Repository not found")
            return
        sha = repo.resolve(revision)
        if sha is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        content = repo.commits[sha].get(filename)
        if content is None:
            self._error(
                404,
                "EntryNotFound",
                f"{filename} does not exist on {revision}",
                **{"X-Repo-Commit": sha},
            )
            return
        if not filename.endswith(_LFS_SUFFIXES):
            self._send(
                200,
                content,
                {
                    "Content-Type": "application/octet-stream",
                    "X-Repo-Commit": sha,
                    "ETag": f'"{git_blob_sha1(content)}"',
                },
            )
            return
        sha256 = hashlib.sha256(content).hexdigest()
        pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
            sha256.encode(),
            len(content),
        )
        self._send(
            302,
            b"",
            {
                "Location": f"{self.hub.cdn_url}/cdn/{sha256}",
                "X-Repo-Commit": sha,
                "ETag": f'"{git_blob_sha1(pointer)}"',
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": str(len(content)),
            },
        )

    # ------------------------------------------------------------------------------ upload
    def _create_repo(self, payload: dict[str, Any]) -> None:
        if not self._token_ok():
            self._error(401, None, "Invalid credentials in Authorization header")
            return
        if payload.get("type", "model") != "model":
            self._error(400, None, "this fake Hub holds model repositories only")
            return
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        private = payload.get("private") or payload.get("visibility") == "private"
        url = f"{self.hub.url}/{repo_id}"
        if repo_id in self.hub.repos:
            self._json(409, {"error": "You already created this model repo", "url": url})
            return
        self.hub.create_repo(repo_id, private=bool(private))
        self._json(200, {"url": url, "name": repo_id})

    def _repo_api(self, op: str, repo_id: str, revision: str, body: bytes) -> None:
        if not self._token_ok():
            self._error(401, None, "Invalid credentials in Authorization header")
            return
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        if op == "branch":
            start = json.loads(body or b"{}").get("startingPoint") or "main"
            if revision in repo.branches:
                self._json(409, {"error": f"branch {revision} already exists"})
            elif repo.resolve(start) is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {start}")
            else:
                repo.branches[revision] = repo.resolve(start)
                self._json(200, {})
            return
        if revision not in repo.branches:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        if op == "preupload":
            files = json.loads(body)["files"]
            self._json(
                200,
                {
                    "files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                        for f in files
                    ]
                },
            )
            return
        self._commit(repo_id, revision, body)

    def _commit(self, repo_id: str, branch: str, body: bytes) -> None:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            self._error(400, None, "the commit payload must start with a header line")
            return
        files: dict[str, bytes] = {}
        deleted = []
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file" and value.get("encoding") == "base64":
                files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "deletedFile":
                deleted.append(value["path"])
            else:
                self._error(400, None, f"unsupported commit operation {line['key']!r}")
                return
        sha = self.hub.commit(
            repo_id,
            files,
            branch=branch,
            message=lines[0]["value"]["summary"],
            deleted=tuple(deleted),
        )
        self._json(
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}",
            },
        )


def point_client_at(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, cache_dir: Path, token_dir: Path
) -> None:
    """Aim ``huggingface_hub`` at ``endpoint`` with a fresh cache and no stored token.

    ``token_dir`` stands in for ``HF_HOME``: the token files and the agent-registry cache.

    ``huggingface_hub.constants`` reads ``HF_ENDPOINT``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``
    and ``HF_HUB_DISABLE_XET`` once, at import, and derives the download URL template and the
    default ``HfApi`` instance (behind ``huggingface_hub.create_repo`` & co.) from them: all of
    those are patched.
    """
    from huggingface_hub import constants, hf_api

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(hf_api.api, "endpoint", endpoint)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(token_dir / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(token_dir / "stored_tokens"))
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(token_dir / "agent_harnesses.json"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
