"""Start `lpr-ray review` as a user does (a subprocess) and talk to it over loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request


class ReviewServer:
    def __init__(self, results: str, *extra: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lpr_ray.cli.main", "review", "--results", results, "--port", "0",
             "--reviewer", "tester", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or dict(os.environ),
        )
        self.url = ""
        for line in self.proc.stdout:  # "serving ... at" then the URL
            if line.strip().startswith("http://"):
                self.url = line.strip()
                break
        if not self.url:
            self.proc.kill()
            raise AssertionError(f"lpr-ray review did not start:\n{self.proc.stderr.read()[-3000:]}")
        parts = urllib.parse.urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]

    def __enter__(self) -> ReviewServer:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def request(self, path: str, body=None, *, token: str | None = "", content_type="application/json",
                query: dict | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request; token '' means the server's own."""
        q = dict(query or {})
        if token is not None:
            q["token"] = token or self.token
        url = self.base + path + ("?" + urllib.parse.urlencode(q) if q else "")
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def api(self, path: str, body=None, **kw) -> tuple[int, dict]:
        status, _, raw = self.request(path, body, **kw)
        return status, json.loads(raw)
