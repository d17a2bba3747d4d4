"""mariadb-galera: prepares this member of the Galera cluster and becomes its mariadbd.

Program "mariadbd" of the signed release, run by the instance's partition user under its own
supervisord (never root). argv: <instance dir>. Idempotent: every start decides from what is on
disk and on the network, then exec()s mariadbd with etc/my.cnf (the agent's rendering) and
run/node.cnf (this member's addresses, written here). Nothing secret is ever on a command line or
in the log: the InnoDB key is made in-process and written 0600; mariadbd reads it from its file.
What the data directory holds and how it is made (grastate.dat, position recovery, the key,
install-db) is galera_datadir.py; this file decides, writes run/node.cnf and exec()s.

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
import shutil
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galera_conf import ConfError, read_conf  # noqa: E402
from galera_datadir import (  # noqa: E402
    MARIADBD,
    DataDirRefused,
    allow_bootstrap,
    install,
    own_position,
    private_dir,
)
from galera_peers import CRLS, Announcer, PeerRefused, PeerTls, crl_keeper, probe, reachable  # noqa: E402
from galera_recovery import EMPTY, decide  # noqa: E402

GALERA = "/usr/lib/galera/libgalera_smm.so"
PROBE_INTERVAL_S = 2


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


def sql_crls(inst):
    """mariadbd's ssl_crl is run/crls.pem: when no refresh wrote it yet (the sites' list unreadable),
    it starts from the agent's CRLs, never without a file (mariadbd would then serve no TLS at all)."""
    path = os.path.join(inst, "run", CRLS)
    if not os.path.exists(path):
        shutil.copyfile(os.path.join(inst, "tls", "crls.pem"), path)
        log(f"{path} not written by a refresh yet: mariadbd starts with the agent's CRLs")


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
    try:
        start()
    except DataDirRefused as e:
        fail(str(e))


def start():
    """Prepares this member from what is on disk and on the network, then becomes its mariadbd."""
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
        mine, position = own_position(inst, data, log)
        mine["cluster"] = conf["cluster"]
    else:
        mine = {"state": EMPTY, "cluster": conf["cluster"]}
    action = rendezvous(inst, conf, me, mine)
    new_cluster = action in ("found", "bootstrap")
    if action == "found":
        if os.path.isdir(data) and os.listdir(data):
            fail(f"{data} holds files but no system schema (an interrupted state transfer?) and no peer runs: "
                 "not founding a cluster over it; move it aside to found a new one, or bring a peer back")
        install(inst, data, user, log)
    elif action == "bootstrap":
        allow_bootstrap(data)
    elif not has_data:
        log("no data yet: joining by state transfer (data and InnoDB key arrive over TLS from a donor)")
        private_dir(data)
    write_node_cnf(inst, conf, me, gcache)
    sql_crls(inst)
    args = [MARIADBD, f"--defaults-file={inst}/etc/my.cnf"]
    if new_cluster:
        args.append("--wsrep-new-cluster")
    if position:
        args.append(f"--wsrep-start-position={position}")
    log(" ".join(args[1:]))
    os.execv(MARIADBD, args)


if __name__ == "__main__":
    main()
