"""daqd from Python: the same JSON-RPC 2.0 protocol as daqctl, standard library only (Python 3.9+).

    from daqd_client import Daqd, DaqdError
    d = Daqd()                        # finds the socket like daqctl (see docs/python.md)
    d.instruments()                   # instrument.list
    d.set("pm", wavelength_nm=820)    # instrument.set: confirmed by read-back
    try:
        d.set("laser", shutter=True)
    except DaqdError as e:
        print(e.kind, e)              # "unsafe", with the interlock's reason
    for ev in d.subscribe(types=["reading"], timeout=5):
        print(ev["method"], ev["params"])

Over HTTP instead of the Unix socket: ``Daqd(url="http://127.0.0.1:8480/", token=None)``.
"""
from __future__ import annotations

import itertools
import json
import os
import socket as _socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

__all__ = ["Daqd", "DaqdError", "find_socket"]

SYSTEM_SOCKET = "/run/daqd/daqd.sock"


class DaqdError(Exception):
    """A refusal or failure from daqd: ``kind`` is the protocol's error kind (docs/protocol.md)."""

    def __init__(self, kind: str, message: str, code: Optional[int] = None, data: Optional[dict] = None):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.data = data or {}

    @classmethod
    def from_error(cls, err: dict) -> "DaqdError":
        data = err.get("data") or {}
        return cls(data.get("kind", "internal_error"), err.get("message", "error"), err.get("code"), data)


def _project_socket(root: Path) -> Path:
    state = os.environ.get("DAQD_STATE_DIR")
    if not state:
        return root / ".daq" / "daqd.sock"
    p = Path(state)
    return (p if p.is_absolute() else root / p) / "daqd.sock"


def find_socket(socket: Optional[str] = None, config: Optional[str] = None, cwd: Optional[str] = None) -> str:
    """The socket daqctl would use: socket / $DAQD_SOCKET, the project's (config / $DAQD_CONFIG, or the
    nearest directory holding config/default.toml or .daq/daqd.sock), else /run/daqd/daqd.sock."""
    named = socket or os.environ.get("DAQD_SOCKET")
    if named:
        return named
    config = config or os.environ.get("DAQD_CONFIG")
    if config:
        c = Path(config).resolve()
        root = c.parent.parent if c.parent.name == "config" else c.parent
        return str(_project_socket(root))
    d = Path(cwd or os.getcwd()).resolve()
    for p in [d, *d.parents]:
        if (p / ".daq" / "daqd.sock").exists() or (p / "config" / "default.toml").exists():
            return str(_project_socket(p))
    return SYSTEM_SOCKET


class Daqd:
    """A connection to daqd over its Unix socket (default) or HTTP (``url=``)."""

    def __init__(self, socket: Optional[str] = None, *, url: Optional[str] = None, token: Optional[str] = None,
                 config: Optional[str] = None, timeout: float = 30.0):
        self.url = url.rstrip("/") if url else None
        self.token = token
        self.timeout = timeout
        self.socket_path = None if url else find_socket(socket, config)
        self._ids = itertools.count(1)
        self._sock: Optional[_socket.socket] = None
        self._buf = b""
        self._pending_events: List[dict] = []

    # -- transport -------------------------------------------------------------------------------
    def _connect(self) -> _socket.socket:
        if self._sock is None:
            s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(self.socket_path)
            except OSError as e:
                s.close()
                raise DaqdError("unavailable", f"cannot reach daqd at {self.socket_path}: {e.strerror or e}") from e
            self._sock = s
        return self._sock

    def _read_message(self, timeout: Optional[float]) -> Optional[dict]:
        sock = self._connect()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buf:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
            else:
                sock.settimeout(self.timeout)
            try:
                chunk = sock.recv(65536)
            except _socket.timeout:
                if deadline is not None:
                    return None
                raise DaqdError("timeout", f"no answer from daqd in {self.timeout} s")
            if not chunk:
                self.close()
                raise DaqdError("unavailable", "daqd closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else self._read_message(timeout)

    def _http(self, body: dict) -> dict:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + "/rpc", data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise DaqdError("unauthorized" if e.code == 401 else "refused", f"HTTP {e.code}: {e.read().decode(errors='replace').strip()}", e.code) from e
        except urllib.error.URLError as e:
            raise DaqdError("unavailable", f"cannot reach daqd at {self.url}: {e.reason}") from e

    # -- the protocol ----------------------------------------------------------------------------
    def call(self, method: str, params: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
        """Call any method (docs/protocol.md); params as a dict or keywords. Raises DaqdError."""
        p = dict(params or {}, **kw)
        req: Dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if p:
            req["params"] = p
        if self.url:
            msg = self._http(req)
        else:
            self._connect().sendall((json.dumps(req) + "\n").encode())
            while True:
                msg = self._read_message(None)
                if msg is not None and "id" in msg and msg.get("id") == req["id"]:
                    break
                if msg is not None and "method" in msg and "id" not in msg:
                    self._pending_events.append(msg)
        if "error" in msg:
            raise DaqdError.from_error(msg["error"])
        return msg.get("result")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""

    def __enter__(self) -> "Daqd":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- typed helpers ---------------------------------------------------------------------------
    def status(self) -> dict:
        return self.call("daemon.status")

    def instruments(self) -> List[dict]:
        return self.call("instrument.list")["instruments"]

    def get(self, id: str, refresh: bool = False) -> dict:
        return self.call("instrument.get", {"id": id, **({"refresh": True} if refresh else {})})

    def set(self, id: str, persist: Optional[bool] = None, **params: Any) -> dict:
        body: Dict[str, Any] = {"id": id, "params": params}
        if persist is not None:
            body["persist"] = persist
        return self.call("instrument.set", body)

    def add(self, id: str, config: Optional[dict] = None, toml: Optional[str] = None, wait: bool = True, **kw: Any) -> dict:
        body: Dict[str, Any] = {"id": id, "wait": wait, **kw}
        if config is not None:
            body["config"] = config
        if toml is not None:
            body["toml"] = toml
        return self.call("instrument.add", body)

    def remove(self, id: str, **kw: Any) -> dict:
        return self.call("instrument.remove", {"id": id, **kw})

    def abort(self, id: str) -> dict:
        return self.call("instrument.abort", {"id": id})

    def modules(self) -> List[dict]:
        return self.call("module.list")["modules"]

    def subscribe(self, types: Optional[List[str]] = None, instruments: Optional[List[str]] = None,
                  timeout: Optional[float] = None) -> Iterator[dict]:
        """Yield events ({"method": type, "params": {...}}) until ``timeout`` seconds pass without one
        (None: forever). Over the socket this connection subscribes; over HTTP it reads GET /events."""
        f: Dict[str, Any] = {}
        if types:
            f["types"] = types
        if instruments:
            f["instruments"] = instruments
        if self.url:
            yield from self._http_events(f, timeout)
            return
        self.call("events.subscribe", f)
        try:
            while True:
                while self._pending_events:
                    yield self._pending_events.pop(0)
                msg = self._read_message(timeout)
                if msg is None:
                    return
                if "method" in msg and "id" not in msg:
                    yield msg
        finally:
            # The subscription belongs to this connection: a fresh one serves later calls.
            self.close()

    events = subscribe

    def _http_events(self, f: Dict[str, Any], timeout: Optional[float]) -> Iterator[dict]:
        from urllib.parse import urlencode
        q = {k: ",".join(v) for k, v in f.items()}
        if self.token:
            q["token"] = self.token
        req = urllib.request.Request(self.url + "/events" + ("?" + urlencode(q) if q else ""))
        with urllib.request.urlopen(req, timeout=timeout if timeout is not None else None) as r:
            data: List[str] = []
            try:
                for raw in r:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
                        data.append(line[6:])
                    elif line == "" and data:
                        ev = json.loads("\n".join(data))
                        data = []
                        t = ev.pop("type", None)
                        if t in ("stream.open", "daemon.heartbeat"):
                            continue
                        yield {"method": t, "params": ev}
            except (_socket.timeout, TimeoutError):
                return

    def readings(self, id: str, seconds: float) -> Any:
        """Collect ``id``'s readings for ``seconds``: a list of rows (time, seq, and each value), or a
        pandas DataFrame when pandas can be imported."""
        rows: List[dict] = []
        end = time.monotonic() + seconds
        for ev in self.subscribe(types=["reading"], instruments=[id], timeout=max(0.05, seconds)):
            p = ev["params"]
            row = {"time": p.get("ts"), "seq": p.get("seq")}
            row.update(p.get("values") or {})
            rows.append(row)
            if time.monotonic() >= end:
                break
        try:
            import pandas as pd  # type: ignore
        except Exception:
            return rows
        return pd.DataFrame(rows)
