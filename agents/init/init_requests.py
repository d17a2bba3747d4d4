"""PID 1's request socket: how the unprivileged node agent asks for a partition's supervisord.

A partition's supervisord runs only while the partition holds an instance (a Python supervisord is
~12 MB that supervises nothing otherwise). Starting one needs root (setpriv to the partition's uid),
so the agent asks PID 1, and PID 1 treats every request as hostile:

- a unix stream socket, mode 0660, group of the agent: nobody else can connect;
- the peer's uid (SO_PEERCRED, from the kernel) must be the agent's: a request from any other uid,
  root included, is refused before a byte is read;
- one line of at most MAX_REQUEST_BYTES printable ASCII, `start NAME`, `stop NAME`, `list`,
  `egress NAME` or `egress-clear NAME` (init_egress.py: the partition's egress rules); NAME
  must be, byte for byte, an on-demand supervisor of init.json (no path, no pattern: a lookup);
- at most `maxPerMinute` requests a minute (a token bucket); beyond, each is refused and the first
  refusal is logged once per minute, so a flood costs PID 1 neither time nor console;
- at most MAX_CONNECTIONS open at once, each closed after CONNECTION_SECONDS whatever it sent.

Answers are one line: `ok ...` or `refused: why`.
"""
import os
import selectors
import socket
import struct
import time

MAX_REQUEST_BYTES = 64
MAX_CONNECTIONS = 8
CONNECTION_SECONDS = 1.0
OPS = ("start", "stop", "list", "egress", "egress-clear")


class RateLimit:
    """A token bucket: `per_minute` requests a minute, with bursts up to `per_minute`."""

    def __init__(self, per_minute, now=time.monotonic):
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.now = now
        self.at = now()

    def take(self):
        t = self.now()
        self.tokens = min(self.capacity, self.tokens + (t - self.at) * self.capacity / 60.0)
        self.at = t
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def parse_request(data, on_demand):
    """(op, name) of a request line, or raises ValueError with what was refused (escaped)."""
    if len(data) > MAX_REQUEST_BYTES:
        raise ValueError(f"request longer than {MAX_REQUEST_BYTES} bytes")
    if not data.endswith(b"\n"):
        raise ValueError("request not terminated by a newline")
    line = data[:-1]
    if any(b < 0x20 or b > 0x7E for b in line):
        raise ValueError(f"request {line!r} holds bytes other than printable ASCII")
    text = line.decode("ascii")
    parts = text.split(" ")
    if parts[0] not in OPS:
        raise ValueError(f"unknown operation {parts[0][:16]!r}; allowed: {', '.join(OPS)}")
    if parts[0] == "list":
        if len(parts) != 1:
            raise ValueError("list takes no argument")
        return "list", None
    if len(parts) != 2:
        raise ValueError(f"{parts[0]} takes exactly one partition name")
    if parts[1] not in on_demand:
        raise ValueError(f"{parts[1][:40]!r} is not an on-demand partition of this server")
    return parts[0], parts[1]


def peer_uid(conn):
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class RequestServer:
    """Accepts and answers requests; `handle(op, name)` (PID 1's) returns the answer after `ok `."""

    def __init__(self, cfg, on_demand, handle, log):
        self.path = cfg["socket"]
        self.agent_uid = cfg["uid"]
        self.on_demand = on_demand
        self.handle = handle
        self.log = log
        self.limit = RateLimit(cfg.get("maxPerMinute", 120))
        self.last_flood_log = -60.0
        self.conns = {}  # socket -> (deadline, received bytes)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(self.path)
        finally:
            os.umask(old)
        os.chown(self.path, 0, cfg["gid"])
        os.chmod(self.path, 0o660)
        self.sock.listen(MAX_CONNECTIONS)
        self.sock.setblocking(False)

    def register(self, sel):
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, "accept")

    def next_deadline(self):
        return min((d for d, _ in self.conns.values()), default=None)

    def on_event(self, key):
        if key.data == "accept":
            self.accept()
        else:
            self.receive(key.fileobj)

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            if len(self.conns) >= MAX_CONNECTIONS:
                self.finish(conn, "refused: too many open requests", registered=False)
                continue
            uid = peer_uid(conn)
            if uid != self.agent_uid:
                self.log(f"request socket: refused a connection from uid {uid} (only uid {self.agent_uid} may ask)")
                self.finish(conn, f"refused: uid {uid} may not ask PID 1 (only the agent's)", registered=False)
                continue
            self.conns[conn] = (time.monotonic() + CONNECTION_SECONDS, b"")
            self.sel.register(conn, selectors.EVENT_READ, "conn")

    def receive(self, conn):
        deadline, got = self.conns[conn]
        try:
            chunk = conn.recv(MAX_REQUEST_BYTES + 1 - len(got))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        got += chunk
        if chunk and not got.endswith(b"\n") and len(got) <= MAX_REQUEST_BYTES:
            self.conns[conn] = (deadline, got)
            return
        self.finish(conn, self.answer(got))

    def answer(self, got):
        if not self.limit.take():
            now = time.monotonic()
            if now - self.last_flood_log >= 60:
                self.last_flood_log = now
                self.log("request socket: rate limit reached; refusing requests (logged once a minute)")
            return "refused: rate limit reached; ask again later"
        try:
            op, name = parse_request(got, self.on_demand)
        except ValueError as e:
            self.log(f"request socket: refused: {e}")
            return f"refused: {e}"
        try:
            return "ok " + self.handle(op, name)
        except ValueError as e:  # the handler refused what it was asked (init_egress.py: the rules file)
            return f"refused: {e}"

    def expire(self):
        now = time.monotonic()
        for conn in [c for c, (d, _) in self.conns.items() if d <= now]:
            self.finish(conn, "refused: no complete request in time")

    def finish(self, conn, reply, registered=True):
        if registered:
            self.sel.unregister(conn)
            del self.conns[conn]
        try:
            conn.send((reply + "\n").encode("ascii", "replace"))
        except OSError:
            pass
        conn.close()

    def close(self):
        for conn in list(self.conns):
            self.finish(conn, "refused: shutting down")
        self.sock.close()
