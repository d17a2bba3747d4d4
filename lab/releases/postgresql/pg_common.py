"""What the PostgreSQL release's two programs share: paths of the instance, the TLS files made from
the service certificate the node agent obtained, the CRLs of the hierarchy, and the rendered
postgresql.conf, pg_hba.conf and pg_ident.conf. Runs as the partition user; never as root.

Instance directory (ZR_INSTANCE_DIR), written by the agent: tls/{key,cert,chain}.pem, etc/*.txt
(the release's config templates, filled from the instance's parameters; etc/job-access.txt is read
by job_access.py, shipped beside). Made here: run/ (0700:
key copy, configuration, CRLs, the unix socket) and data/ (PGDATA).
"""
import os
import re

from crl_sources import CrlKeeper
from job_access import JobAccessError, parse_job_access, pg_job_lines

BIN = "/usr/lib/postgresql/15/bin"
INSTANCE = os.environ["ZR_INSTANCE_DIR"]
USER = os.environ["USER"]
RUN = os.path.join(INSTANCE, "run")
DATA = os.path.join(INSTANCE, "data")
ETC = os.path.join(INSTANCE, "etc")
TLS = os.path.join(INSTANCE, "tls")
CRL_FILE = os.path.join(RUN, "crl.pem")
# Sizes bound what a misbehaving parameter can make this program hold.
MAX_PARAMETER_FILE_BYTES = 256 * 1024
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DATABASE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ADDRESS = re.compile(r"^[0-9a-f.:]{2,45}$")
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.S)


def log(msg):
    print(f"zeroroot postgresql: {msg}", flush=True)


def write_atomic(path, content, mode=0o600):
    tmp = f"{path}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def parameter_text(name):
    """etc/<name>.txt, bounded."""
    path = os.path.join(ETC, f"{name}.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read(MAX_PARAMETER_FILE_BYTES + 1)
    if len(text) > MAX_PARAMETER_FILE_BYTES:
        raise SystemExit(f"{path} is larger than {MAX_PARAMETER_FILE_BYTES} bytes")
    return text


def parameter_lines(name):
    """Non-empty, non-comment lines of etc/<name>.txt split into words."""
    text = parameter_text(name)
    return [l.split() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]


def access():
    """[(database, dc, name, access)] from etc/access.txt lines `database dc/user/name read|readwrite`."""
    out = []
    for words in parameter_lines("access"):
        if len(words) != 3 or not DATABASE.match(words[0]) or words[2] not in ("read", "readwrite"):
            raise SystemExit(f"etc/access.txt: bad line {' '.join(words)!r}")
        dc, kind, name = (words[1].split("/") + ["", ""])[:3]
        if kind != "user" or not NAME.match(name) or not NAME.match(dc):
            raise SystemExit(f"etc/access.txt: {words[1]!r} is not a user identity dc/user/name")
        out.append((words[0], dc, name, words[2]))
    return out


def job_access(grants):
    """Entries of etc/job-access.txt (parameter jobAccess), each repeating a grant of access.txt."""
    try:
        return parse_job_access(parameter_text("job-access"), "etc/job-access.txt",
                                {(db, f"{dc}/user/{name}", a) for db, dc, name, a in grants})
    except JobAccessError as e:
        raise SystemExit(str(e)) from None


def replication():
    """Primary: [("replica", service-name, address)]; replica: [("primary", service-name, address, port)]."""
    out = []
    for words in parameter_lines("replication"):
        ok = words and words[0] in ("replica", "primary") and len(words) == (3 if words[0] == "replica" else 4)
        if not ok or not NAME.match(words[1]) or not ADDRESS.match(words[2]):
            raise SystemExit(f"etc/replication.txt: bad line {' '.join(words)!r}")
        out.append(tuple(words))
    return out


def prepare_tls():
    """PostgreSQL wants its key owned by its user with mode 0600: a copy of the agent's key, made here."""
    os.makedirs(RUN, mode=0o700, exist_ok=True)
    with open(os.path.join(TLS, "key.pem"), encoding="ascii") as f:
        write_atomic(os.path.join(RUN, "server.key"), f.read())
    with open(os.path.join(TLS, "chain.pem"), encoding="ascii") as f:
        chain = PEM_CERT.findall(f.read())
    with open(os.path.join(TLS, "cert.pem"), encoding="ascii") as f:
        leaf = f.read()
    if len(chain) < 2:
        raise SystemExit("tls/chain.pem must hold the issuing CA and the root")
    # leaf + issuing CA: what peers need to build the chain; the root alone is the trust anchor.
    write_atomic(os.path.join(RUN, "server.crt"), leaf.strip() + "\n" + "".join(chain[:-1]), 0o644)
    write_atomic(os.path.join(RUN, "root.crt"), chain[-1], 0o644)


# The hierarchy's CRLs (crl_sources.py, shared with the Galera release): the agent's file and every
# data center's site. PostgreSQL checks a CRL for every CA of a chain (CRL_CHECK_ALL), users' included,
# whose offline CAs no certificate here names: so their CRLs are kept unverified (keep_unheld) and
# PostgreSQL checks their signature against the chain it verifies.
CRLS = CrlKeeper(os.path.join(ETC, "crl-sources.txt"), os.path.join(TLS, "chain.pem"), [os.path.join(TLS, "crls.pem")],
                 CRL_FILE, log, keep_unheld=True)


def refresh_crls():
    """Writes run/crl.pem when the hierarchy's CRLs changed; returns whether it did."""
    return CRLS.refresh()


def render_configs(port):
    """postgresql.conf, pg_hba.conf (certificate lines only) and pg_ident.conf (certificate CN → role;
    job certificate subject → role)."""
    grants = access()
    users = sorted({name for _, _, name, _ in grants})
    job_hba, job_ident = pg_job_lines(job_access(grants))
    repl = replication()
    conf = {
        "listen_addresses": "'*'",
        "port": str(int(port)),
        "unix_socket_directories": f"'{RUN}'",
        "ssl": "on",
        "ssl_min_protocol_version": "'TLSv1.2'",
        "ssl_cert_file": f"'{RUN}/server.crt'",
        "ssl_key_file": f"'{RUN}/server.key'",
        "ssl_ca_file": f"'{RUN}/root.crt'",
        "ssl_crl_file": f"'{CRL_FILE}'",
        "hba_file": f"'{RUN}/pg_hba.conf'",
        "ident_file": f"'{RUN}/pg_ident.conf'",
        "password_encryption": "'scram-sha-256'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        "log_connections": "on",
        "shared_buffers": "'16MB'",
    }
    write_atomic(os.path.join(RUN, "postgresql.conf"), "".join(f"{k} = {v}\n" for k, v in conf.items()))
    hba = [
        "# zeroroot: rendered by the postgresql release; certificates only, no password method",
        f"local all {USER} peer",
        "local all all reject",
    ]
    ident = ["# zeroroot: certificate CN -> role"]
    for entry in repl:
        if entry[0] == "replica":
            # the replica's service certificate, from its server's address only
            hba.append(f"hostssl replication replicator {entry[2]}/32 cert clientcert=verify-full map=certmap")
            ident.append(f"certmap {entry[1]} replicator")
    # the replicator replicates; it opens no database
    hba.append("hostssl all replicator all reject")
    # Job certificates (docs/compute.md): the owner's role from each worker node, with that node's
    # job subject only; before the catch-all, whose CN map knows no job name.
    hba += job_hba
    hba.append("hostssl all all 0.0.0.0/0 cert clientcert=verify-full map=certmap")
    hba.append("hostssl all all ::/0 cert clientcert=verify-full map=certmap")
    ident += [f"certmap {u} {u}" for u in users] + job_ident
    write_atomic(os.path.join(RUN, "pg_hba.conf"), "\n".join(hba) + "\n")
    write_atomic(os.path.join(RUN, "pg_ident.conf"), "\n".join(ident) + "\n")
