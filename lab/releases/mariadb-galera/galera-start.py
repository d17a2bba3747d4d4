"""mariadb-galera: prepares this member of the Galera cluster and becomes its mariadbd.

Program "mariadbd" of the signed release, run by the instance's partition user under its own
supervisord (never root). argv: <instance dir>. Idempotent: every start decides from what is on
disk and on the network, then exec()s mariadbd with etc/my.cnf (the agent's rendering) and
run/node.cnf (this member's addresses, written here). Nothing secret is ever on a command line or
in the log: the InnoDB key is made in-process and written 0600; mariadbd reads it from its file.

Who founds the cluster (a naive bootstrap splits it, docs/datastores.md "Galera"):
  * first start ever (no data directory): only the member named `bootstrap`, and only after no peer
    answered on the replication port for PROBE_ROUNDS probes; the others wait for a reachable peer
    and receive everything (data and the InnoDB key) by state transfer over TLS;
  * afterwards: only a member whose grastate.dat says safe_to_bootstrap: 1 (Galera writes it on the
    last member to leave a cluster cleanly, the one holding the newest state), and again only when
    no peer answers. Any other member waits for a peer, or starts when gvwstate.dat exists (a crash
    of the whole cluster: Galera's pc.recovery restores the primary component by itself).
"""
import os
import pwd
import re
import secrets
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galera_conf import ConfError, read_conf  # noqa: E402

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
GALERA = "/usr/lib/galera/libgalera_smm.so"
PROBE_ROUNDS = 3
PROBE_INTERVAL_S = 2
KEY_DIR = "zr-keys"  # inside the data directory, so that state transfer carries it (docs/datastores.md)
# The same at-rest settings my.cnf carries: the system tables made by install-db are encrypted too.
ENCRYPTION_ARGS = [
    "--plugin-load-add=file_key_management",
    "--file-key-management-encryption-algorithm=AES_CTR",
    "--innodb-encrypt-tables=FORCE",
    "--innodb-encrypt-log=ON",
    "--innodb-encrypt-temporary-tables=ON",
    "--encrypt-tmp-files=ON",
    "--aria-encrypt-tables=ON",
]


def log(msg):
    print(f"galera-start: {msg}", flush=True)


def fail(msg, code=2):
    log(msg)
    sys.exit(code)


def local_address(peers):
    """The peer address that is this server's: the one a socket can bind to."""
    for p in peers:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((p, 0))
                return p
            except OSError:
                continue
    return None


def reachable(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=1.0):
            return True
    except OSError:
        return False


def answering_peers(conf, me):
    return [p for p in conf["peers"] if p != me and reachable(p, conf["galera-port"])]


def quiet(conf, me):
    """True when no peer answered during PROBE_ROUNDS probes."""
    for i in range(PROBE_ROUNDS):
        if answering_peers(conf, me):
            return False
        if i < PROBE_ROUNDS - 1:
            time.sleep(PROBE_INTERVAL_S)
    return True


def wait_for_peer(conf, me, data):
    since = time.monotonic()
    last = 0.0
    while not answering_peers(conf, me):
        if os.path.exists(os.path.join(data, "gvwstate.dat")):
            log("no peer answers yet; gvwstate.dat present: starting so that pc.recovery can restore the primary component")
            return
        if time.monotonic() - last > 30:
            log(f"waiting for a peer on port {conf['galera-port']} ({int(time.monotonic() - since)} s): this member does not found a cluster")
            last = time.monotonic()
        time.sleep(PROBE_INTERVAL_S)


def wait_for_tls(inst):
    """The service certificate and the CRLs come from the node agent; no member runs without them."""
    since = time.monotonic()
    files = [os.path.join(inst, "tls", f) for f in ("key.pem", "cert.pem", "chain.pem", "crls.pem")]
    while not all(os.path.exists(f) for f in files):
        if time.monotonic() - since > 30:
            log(f"waiting for {', '.join(f for f in files if not os.path.exists(f))} from the node agent")
            since = time.monotonic()
        time.sleep(1)


def private_dir(path):
    """A directory only this user can enter; refuses a symlink or someone else's directory (e.g. in /tmp)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        fail(f"{path} is not a directory of uid {os.getuid()} (a symlink or another user's); refusing to use it")
    os.chmod(path, 0o700)


def grastate(data):
    out = {"safe_to_bootstrap": 0, "seqno": None}
    try:
        with open(os.path.join(data, "grastate.dat"), encoding="ascii", errors="replace") as f:
            text = f.read(4096)
    except FileNotFoundError:
        return out
    m = re.search(r"^safe_to_bootstrap:\s*(\d)\s*$", text, re.M)
    out["safe_to_bootstrap"] = int(m.group(1)) if m else 0
    m = re.search(r"^seqno:\s*(-?\d+)\s*$", text, re.M)
    out["seqno"] = int(m.group(1)) if m else None
    return out


def make_key(data):
    """The InnoDB file key: 32 random bytes as file_key_management reads them, 0600, never printed."""
    d = os.path.join(data, KEY_DIR)
    private_dir(d)
    path = os.path.join(d, "innodb.key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as f:
        f.write("1;" + secrets.token_hex(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path


def install(inst, data, user):
    """mariadb-install-db into a fresh directory, renamed into place only when complete."""
    work = data + ".new"
    subprocess.run(["/usr/bin/rm", "-rf", "--", work], check=True)
    os.mkdir(work, 0o700)
    key = make_key(work)
    # --skip-test-db: without it install-db creates anonymous ''@localhost accounts, and then
    # another user's certificate and even no certificate log in (LAB-NOTES). The partition user is
    # the only administrator, through the unix socket (no password exists anywhere).
    cmd = [
        INSTALL_DB,
        "--no-defaults",
        "--skip-test-db",
        f"--datadir={work}",
        f"--auth-root-socket-user={user}",
        "--auth-root-authentication-method=socket",
        f"--file-key-management-filename={key}",
        "--innodb-buffer-pool-size=32M",
        *ENCRYPTION_ARGS,
    ]
    log("mariadb-install-db --no-defaults --skip-test-db (encrypted system tables)")
    r = subprocess.run(cmd, cwd=inst, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"mariadb-install-db failed ({r.returncode}):\n{r.stdout[-4000:]}")
    os.rename(work, data)


def recovered_position(inst):
    """After a crash (seqno -1): the position InnoDB holds, so the member can ask for IST, not SST."""
    out = os.path.join(inst, "run", "recover.log")
    r = subprocess.run(
        [MARIADBD, f"--defaults-file={inst}/etc/my.cnf", "--wsrep-recover", f"--log-error={out}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        os.unlink(out)
    except FileNotFoundError:
        text = ""
    m = re.search(r"WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)", text)
    if r.returncode == 0 and m:
        return m.group(1)
    log("position recovery found nothing; a full state transfer follows")
    return None


def write_node_cnf(inst, conf, me, gcache):
    gport = conf["galera-port"]
    others = ",".join(f"{p}:{gport}" for p in conf["peers"] if p != me)
    tls = os.path.join(inst, "tls")
    provider = ";".join(
        [
            f"gmcast.listen_addr=tcp://0.0.0.0:{gport}",
            f"ist.recv_addr={me}:{conf['ist-port']}",
            f"socket.ssl_key={tls}/key.pem",
            f"socket.ssl_cert={tls}/cert.pem",
            f"socket.ssl_ca={tls}/chain.pem",
            "socket.ssl_cipher=",
            f"gcache.dir={gcache}",
            "gcache.size=64M",
            "gcache.recover=no",
            "pc.recovery=true",
        ]
    )
    text = "\n".join(
        [
            "# written by galera-start.py at each start: this member's addresses (no secret)",
            "[mysqld]",
            f"wsrep_node_address={me}",
            f"wsrep_cluster_address=gcomm://{others}",
            f"wsrep_sst_receive_address={me}:{conf['sst-port']}",
            f'wsrep_provider_options="{provider}"',
            "",
        ]
    )
    path = os.path.join(inst, "run", "node.cnf")
    with open(path + ".new", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".new", path)


def main():
    if len(sys.argv) != 2:
        fail("usage: galera-start.py <instance dir>")
    inst = os.path.abspath(sys.argv[1])
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        fail("refusing to run as root: the release runs as its partition user")
    os.umask(0o077)
    try:
        conf = read_conf(inst)
    except (ConfError, OSError) as e:
        fail(f"configuration refused: {e}")
    wait_for_tls(inst)
    me = local_address(conf["peers"])
    if me is None:
        fail(f"none of the peers {','.join(conf['peers'])} is an address of this server; the service's peers parameter must list it")
    data = os.path.join(inst, "data")
    private_dir(os.path.join(inst, "run"))
    # Galera's write-set cache holds rows in clear (open-source Galera cannot encrypt it): keep it
    # on the tmpfs /tmp, never on the disk (docs/datastores.md).
    gcache = f"/tmp/zr-galera-{user}"
    private_dir(gcache)
    new_cluster, position = False, None
    if not os.path.isdir(os.path.join(data, "mysql")):
        if me == conf["bootstrap"] and quiet(conf, me):
            if os.path.isdir(data) and os.listdir(data):
                fail(f"{data} holds files but no system schema (an interrupted state transfer?) and no peer answers: "
                     "not founding a cluster over it; move it aside to found a new one, or bring a peer back")
            log(f"founding cluster {conf['cluster']}: named bootstrap member, no data yet, no peer answered in {PROBE_ROUNDS} probes")
            install(inst, data, user)
            new_cluster = True
        else:
            log("no data yet: joining by state transfer (data and InnoDB key arrive over TLS from a donor)")
            wait_for_peer(conf, me, data)
            private_dir(data)
    else:
        private_dir(data)
        gs = grastate(data)
        if gs["safe_to_bootstrap"] == 1 and quiet(conf, me):
            log("re-founding the cluster: grastate.dat says safe_to_bootstrap (newest state), and no peer answered")
            new_cluster = True
        else:
            wait_for_peer(conf, me, data)
        if gs["seqno"] == -1:
            position = recovered_position(inst)
    write_node_cnf(inst, conf, me, gcache)
    args = [MARIADBD, f"--defaults-file={inst}/etc/my.cnf"]
    if new_cluster:
        args.append("--wsrep-new-cluster")
    if position:
        args.append(f"--wsrep-start-position={position}")
    log(" ".join(args[1:]))
    os.execv(MARIADBD, args)


if __name__ == "__main__":
    main()
