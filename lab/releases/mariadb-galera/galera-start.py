"""mariadb-galera: prepares this member of the Galera cluster and becomes its mariadbd.

Program "mariadbd" of the signed release, run by the instance's partition user under its own
supervisord (never root). argv: <instance dir>. Idempotent: every start decides from what is on
disk and on the network, then exec()s mariadbd with etc/my.cnf (the agent's rendering) and
run/node.cnf (this member's addresses, written here). Nothing secret is ever on a command line or
in the log: the InnoDB key is made in-process and written 0600; mariadbd reads it from its file.

Who starts the cluster (a naive bootstrap splits it; docs/datastores.md "Recovery"): when no peer
runs Galera, every member publishes its report (no data, or its last committed position from
grastate.dat or `mariadbd --wsrep-recover`) to the others over mutual TLS and reads theirs
(galera_peers.py); galera_recovery.decide then lets exactly one member start a primary component:
  * no member holds data: the member named `bootstrap` founds the cluster (install-db) once a
    majority of members report no data;
  * members hold data: once every member's position is known and all share one history, the one
    with the newest (highest seqno; ties: the first in `peers`) bootstraps; the others wait;
  * a peer runs Galera: join it; the state transfer (IST or SST over TLS) brings what is missing.
"""
import os
import pwd
import re
import secrets
import socket
import ssl
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galera_conf import ConfError, read_conf  # noqa: E402
from galera_peers import Announcer, PeerRefused, PeerTls, crl_keeper, probe, reachable  # noqa: E402
from galera_recovery import EMPTY, POSITION, decide  # noqa: E402

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
GALERA = "/usr/lib/galera/libgalera_smm.so"
PROBE_INTERVAL_S = 2
NIL_UUID = "00000000-0000-0000-0000-000000000000"
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
    out = {"safe_to_bootstrap": 0, "seqno": None, "uuid": None}
    try:
        with open(os.path.join(data, "grastate.dat"), encoding="ascii", errors="replace") as f:
            text = f.read(4096)
    except FileNotFoundError:
        return out
    m = re.search(r"^safe_to_bootstrap:\s*(\d)\s*$", text, re.M)
    out["safe_to_bootstrap"] = int(m.group(1)) if m else 0
    m = re.search(r"^seqno:\s*(-?\d+)\s*$", text, re.M)
    out["seqno"] = int(m.group(1)) if m else None
    m = re.search(r"^uuid:\s*([0-9a-f-]{36})\s*$", text, re.M)
    out["uuid"] = m.group(1) if m else None
    return out


def allow_bootstrap(data):
    """mariadbd refuses --wsrep-new-cluster unless grastate.dat says safe_to_bootstrap: 1; the decision says so now."""
    path = os.path.join(data, "grastate.dat")
    with open(path, encoding="ascii") as f:
        text = f.read(4096)
    text = re.sub(r"^safe_to_bootstrap:.*$", "safe_to_bootstrap: 1", text, flags=re.M)
    with open(path + ".new", "w", encoding="ascii") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".new", path)


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


def own_position(inst, data):
    """This member's report and, after a crash, the position to start from (so it asks for IST, not SST)."""
    gs = grastate(data)
    if gs["uuid"] and gs["seqno"] is not None and gs["seqno"] >= 0:
        return {"state": POSITION, "uuid": gs["uuid"], "seqno": gs["seqno"]}, None
    recovered = recovered_position(inst)  # seqno -1 in grastate.dat: a crash; InnoDB knows
    if recovered:
        uuid, _, seqno = recovered.rpartition(":")
        if uuid != NIL_UUID and int(seqno) >= 0:
            return {"state": POSITION, "uuid": uuid, "seqno": int(seqno)}, recovered
    return {"state": POSITION, "uuid": gs["uuid"] or NIL_UUID, "seqno": -1}, None


def refresh_crls(keeper):
    """Whether run/crls.pem changed; a failed refresh leaves the CRLs held and is logged by the keeper or here."""
    try:
        return keeper.refresh_if_due()
    except (OSError, ValueError) as e:
        log(f"CRLs not refreshed: {e}")
        return False


def rendezvous(inst, conf, me, mine):
    """Publishes this member's report and reads the others' until decide() lets it start; returns the action."""
    others = [p for p in conf["peers"] if p != me]
    # Reports are read only from peers whose chain has a current CRL of every CA here (fail closed):
    # the keeper fetches every site's before the first round and every DEFAULT_REFRESH_S after.
    keeper = crl_keeper(inst, log)
    refresh_crls(keeper)
    peer_tls = lambda: PeerTls(os.path.join(inst, "tls"), os.path.join(inst, "run"), conf["user-issuers"].keys())  # noqa: E731
    try:
        tls = peer_tls()
    except (PeerRefused, ssl.SSLError, OSError) as e:
        # Without a platform identity of its own this member never starts a cluster; it may only
        # try to join one, and the members' TLS decides (and their guards).
        log(f"this member's certificate cannot take part in recovery ({e}): it only joins a running peer")
        while not any(reachable(p, conf["galera-port"]) for p in others):
            time.sleep(PROBE_INTERVAL_S)
        return "join"
    announcer = Announcer(tls, me, conf["ist-port"], mine, log)
    last, logged, agreed = None, 0.0, None
    try:
        while True:
            if refresh_crls(keeper):
                tls = peer_tls()
            reports = {me: mine, **{p: probe(tls, p, conf["galera-port"], conf["ist-port"]) for p in others}}
            action, reason = decide(me, conf["peers"], conf["bootstrap"], conf["cluster"], reports)
            if action == "join" or (action in ("found", "bootstrap") and agreed == (action, reason)):
                log(f"{action}: {reason}")
                return action
            # found/bootstrap only when two rounds PROBE_INTERVAL_S apart say the same
            agreed = (action, reason) if action in ("found", "bootstrap") else None
            if agreed:
                log(f"about to {action}, checking again in {PROBE_INTERVAL_S} s: {reason}")
            elif reason != last or time.monotonic() - logged > 30:
                log(f"{action}: {reason}")
                last, logged = reason, time.monotonic()
            time.sleep(PROBE_INTERVAL_S)
    finally:
        announcer.close()


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
            # Off: after a whole-cluster stop the release's rendezvous decides who starts again
            # (galera_recovery.py), one mechanism for clean stops (gvwstate.dat is deleted then) and crashes.
            "pc.recovery=false",
        ]
    )
    text = "\n".join(
        [
            "# written by galera-start.py at each start: this member's addresses (no secret)",
            "[mysqld]",
            f"wsrep_node_address={me}",
            f"wsrep_cluster_address=gcomm://{others}",
            # Galera cannot check a peer's name or a CRL; at least only the configured members' addresses connect.
            f"wsrep_allowlist={','.join(conf['peers'])}",
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
    has_data = os.path.isdir(os.path.join(data, "mysql"))
    position = None
    if has_data:
        private_dir(data)
        mine, position = own_position(inst, data)
        mine["cluster"] = conf["cluster"]
    else:
        mine = {"state": EMPTY, "cluster": conf["cluster"]}
    action = rendezvous(inst, conf, me, mine)
    new_cluster = action in ("found", "bootstrap")
    if action == "found":
        if os.path.isdir(data) and os.listdir(data):
            fail(f"{data} holds files but no system schema (an interrupted state transfer?) and no peer runs: "
                 "not founding a cluster over it; move it aside to found a new one, or bring a peer back")
        install(inst, data, user)
    elif action == "bootstrap":
        allow_bootstrap(data)
    elif not has_data:
        log("no data yet: joining by state transfer (data and InnoDB key arrive over TLS from a donor)")
        private_dir(data)
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
