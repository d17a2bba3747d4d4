"""Job certificates for a task running on this Dask worker (docs/compute.md, "Job certificates").

    import zr_job
    c = zr_job.current()                      # a valid pair; renewed when a third of its life is left
    psycopg2.connect(host=..., sslmode="verify-full", sslrootcert=c.ca, sslcert=c.cert, sslkey=c.key)

The key is made here, in the worker's process, by the image's `openssl` over pipes (the compute image
has no python3-cryptography): it is never in an argument, the environment or a log. Only a CSR goes
to the agent, through this partition's socket (`<instance>/jobs/agent.sock`, which only this
partition's uid can reach; the agent knows the owner from its signed desired state). The key is
written once, 0600, to this partition's private directory (`<instance>/run/job`, 0700), because
libpq and pymysql read key files; each certificate gets a new key and new file names, so a
connection being opened never reads a key and a certificate of two generations. Open each
connection with `current()`: TLS checks a certificate at the handshake only, so an open connection
outlives its certificate and new ones get the renewed pair.
"""
import datetime
import json
import os
import socket
import subprocess
import threading
import time

DEFAULT_LIFETIME_SECONDS = 900
# one JSON line each way; an answer (certificate and chain) is a few KiB
MAX_ANSWER_BYTES = 64 * 1024
TIMEOUT_SECONDS = 20
OPENSSL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
KEEP_GENERATIONS = 2


class JobCertificateError(Exception):
    """The agent refused (its reason, never a key or a CSR) or could not be reached."""


class Credentials:
    """Files of one certificate: leaf + issuing CA, its key, the root (trust anchor for servers)."""

    def __init__(self, cert, key, ca, serial, not_after, obtained_at):
        self.cert, self.key, self.ca = cert, key, ca
        self.serial, self.not_after, self.obtained_at = serial, not_after, obtained_at

    def renewal_due(self, now=None):
        """Once a third of the life asked for is left (the certificate's notBefore is backdated)."""
        now = time.time() if now is None else now
        return now >= self.not_after - (self.not_after - self.obtained_at) / 3

    def __repr__(self):
        return f"Credentials(serial={self.serial}, not_after={self.not_after}, cert={self.cert!r})"


def _instance_dir():
    d = os.environ.get("ZR_INSTANCE_DIR", "")
    if not d.startswith("/"):
        raise JobCertificateError("ZR_INSTANCE_DIR is not set: zr_job runs in a task on a zeroroot Dask worker")
    return d


def job_name():
    """`dc1/user/alice` (the worker's owner) -> `dc1.alice`, the only CN the agent signs for here."""
    owner = os.environ.get("ZR_DASK_OWNER", "")
    parts = owner.split("/")
    if len(parts) != 3 or parts[1] != "user":
        raise JobCertificateError(f"ZR_DASK_OWNER {owner[:80]!r} is not a user identity dc/user/name")
    return f"{parts[0]}.{parts[2]}"


def _openssl(args, stdin):
    r = subprocess.run(["/usr/bin/openssl", *args], input=stdin, capture_output=True, env=OPENSSL_ENV, timeout=30)
    if r.returncode != 0:
        # openssl's message names the step, never the key (it was on stdin)
        raise JobCertificateError(f"openssl {args[0]} failed: {r.stderr.decode(errors='replace')[:200]}")
    return r.stdout


def new_key_and_csr(common_name, dns_names=()):
    """A P-256 key and a CSR for it, both in memory (the key passes through pipes only)."""
    key = _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], b"")
    args = ["req", "-new", "-key", "/dev/stdin", "-subj", f"/CN={common_name}"]
    if dns_names:
        args += ["-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in dns_names)]
    return key, _openssl(args, key).decode()


def ask_agent(csr_pem, lifetime_seconds, socket_path=None):
    """One request on the partition's socket; the agent's answer or JobCertificateError."""
    path = socket_path or os.path.join(_instance_dir(), "jobs", "agent.sock")
    line = json.dumps({"csrPem": csr_pem, "lifetimeSeconds": lifetime_seconds}).encode() + b"\n"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_SECONDS)
    try:
        s.connect(path)
        s.sendall(line)
        buf = b""
        while b"\n" not in buf and len(buf) <= MAX_ANSWER_BYTES:
            chunk = s.recv(8192)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        raise JobCertificateError(f"the agent's job socket {path} is not reachable: {e.strerror or e}") from None
    finally:
        s.close()
    try:
        answer = json.loads(buf.split(b"\n", 1)[0])
    except ValueError:
        raise JobCertificateError(f"the agent answered {len(buf)} bytes that are not one JSON line") from None
    if not isinstance(answer, dict):
        raise JobCertificateError("the agent's answer is not a JSON object")
    if "error" in answer:
        raise JobCertificateError(f"the agent refused: {str(answer['error'])[:500]}")
    for k in ("certificatePem", "chainPem", "notAfter"):
        if not isinstance(answer.get(k), str):
            raise JobCertificateError(f"the agent's answer has no {k}")
    return answer


def _private_dir():
    d = os.path.join(_instance_dir(), "run", "job")
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise JobCertificateError(f"{d} must be this partition's own directory, mode 0700")
    return d


def _write_new(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _pems(text):
    out, rest = [], text
    end = "-----END CERTIFICATE-----"
    while end in rest:
        block, rest = rest.split(end, 1)
        out.append(block[block.index("-----BEGIN CERTIFICATE-----") :] + end + "\n")
    return out


class JobCertificates:
    """The current credentials of this process's jobs, obtained and renewed through the agent."""

    def __init__(self, lifetime_seconds=DEFAULT_LIFETIME_SECONDS, socket_path=None, directory=None):
        self.lifetime_seconds = lifetime_seconds
        self.socket_path = socket_path
        self.directory = directory
        self._lock = threading.Lock()
        self._current = None
        self._generations = []
        self.renewals = 0

    def current(self):
        """Valid credentials: the held ones, or new ones when renewal is due (kept if the agent
        fails while they are still valid, asked again at the next call)."""
        with self._lock:
            c = self._current
            if c is not None and not c.renewal_due():
                return c
            try:
                self._current = self._obtain()
                if c is not None:
                    self.renewals += 1
            except JobCertificateError:
                if c is None or time.time() >= c.not_after:
                    raise
            return self._current

    def _obtain(self):
        key, csr = new_key_and_csr(job_name())
        obtained_at = time.time()
        answer = ask_agent(csr, self.lifetime_seconds, self.socket_path)
        chain = _pems(answer["chainPem"])
        if len(chain) < 2:
            raise JobCertificateError("the agent's chain must hold the issuing CA and the root")
        d = self.directory or _private_dir()
        stamp = f"{int(obtained_at * 1000)}-{os.getpid()}"
        cert, key_file, ca = (os.path.join(d, f"job-{stamp}.{x}") for x in ("crt", "key", "ca"))
        _write_new(key_file, key, 0o600)
        _write_new(cert, (answer["certificatePem"].rstrip("\n") + "\n" + chain[0]).encode(), 0o600)
        _write_new(ca, chain[-1].encode(), 0o600)
        not_after = datetime.datetime.fromisoformat(answer["notAfter"].replace("Z", "+00:00")).timestamp()
        serial = _openssl(["x509", "-noout", "-serial"], answer["certificatePem"].encode()).decode().strip()
        creds = Credentials(cert, key_file, ca, serial.split("=", 1)[-1], not_after, obtained_at)
        self._generations.append(creds)
        # the previous pair stays for a connection being opened with it; older ones go
        while len(self._generations) > KEEP_GENERATIONS:
            old = self._generations.pop(0)
            for f in (old.cert, old.key, old.ca):
                try:
                    os.unlink(f)
                except FileNotFoundError:
                    pass
        return creds


_default = {}
_default_lock = threading.Lock()


def current(lifetime_seconds=DEFAULT_LIFETIME_SECONDS):
    """The process's credentials for jobs asking `lifetime_seconds` (one holder per lifetime)."""
    with _default_lock:
        holder = _default.get(lifetime_seconds)
        if holder is None:
            holder = _default[lifetime_seconds] = JobCertificates(lifetime_seconds)
    return holder.current()
