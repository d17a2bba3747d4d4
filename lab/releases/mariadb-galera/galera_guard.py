"""mariadb-galera: evicts cluster members whose certificate the platform no longer accepts.

Galera 4's TLS (socket.ssl_*) verifies a peer's chain against the platform's CAs and nothing more:
no CRL, no name (docs/datastores.md, "Who may be a member"). So the access program of every member
fetches the certificate each other member serves on its Galera port (at once for a member it has
not seen and whenever the agent refreshed tls/crls.pem, else every GUARD_S seconds) and checks it
as galera_peers.py checks any peer: chain, those CRLs, kind `service`, this member's service name,
a data center of the platform. A member whose certificate is refused, or whose address is not one
of the configured peers, is evicted from the cluster (Galera's evs.evict: it cannot come back until
it restarts, and is evicted again then). Detection, not prevention: a member is in the cluster, and
has received its state, until the access program's next pass (every few seconds) evicts it.
"""
import hashlib
import os
import ssl
import time

from galera_peers import PeerTls
from galera_recovery import UUID

GUARD_S = 60


def served_certificate_refusal(tls, host, port):
    """Why the certificate served on host:port is not a member's; None when accepted; 'no answer' apart."""
    try:
        s, note = tls.connect(host, port)
        with s:
            return tls.accept(s), note
    except ssl.SSLCertVerificationError as e:
        return f"certificate refused: {e.verify_message}", True
    except (ssl.SSLError, OSError) as e:
        return f"no answer ({e.__class__.__name__})", None


class PeerGuard:
    def __init__(self, inst, log):
        self.tls_dir = os.path.join(inst, "tls")
        self.run_dir = os.path.join(inst, "run")
        self.log = log
        self.checked = {}  # member uuid → time of its last check
        self.evicted = set()
        self.told = {}
        self.crls = None

    def _tell(self, key, msg):
        if self.told.get(key) != msg:  # once per member and reason
            self.told[key] = msg
            self.log(msg)

    def check(self, conf, db):
        """One pass; db.run(sql) → rows. Returns the uuids evicted in this pass."""
        me = db.run("SHOW STATUS LIKE 'wsrep_gcomm_uuid';")
        me = me[0][-1] if me else ""
        members = db.run("SELECT node_uuid, node_incoming_address FROM mysql.wsrep_cluster_members;")
        now = time.monotonic()
        with open(os.path.join(self.tls_dir, "crls.pem"), "rb") as f:
            crls = hashlib.sha256(f.read()).hexdigest()
        if crls != self.crls:  # newer CRLs: every member is checked against them now
            self.crls, self.checked = crls, {}
        due = [(u, a) for u, a in members if u != me and UUID.match(u) and now - self.checked.get(u, -1e9) >= GUARD_S]
        if not due:
            return []
        tls = PeerTls(self.tls_dir, self.run_dir, conf["user-issuers"].keys())
        out = []
        for uuid, incoming in due:
            self.checked[uuid] = now
            host = incoming.rpartition(":")[0] if ":" in incoming else incoming
            if host not in conf["peers"]:
                why = f"its address {incoming[:64]!r} is not one of the configured peers"
            else:
                why, note = served_certificate_refusal(tls, host, conf["galera-port"])
                if why and note is None:
                    self._tell(uuid, f"member {uuid} at {host}: cannot check its certificate ({why}); checked again in {GUARD_S} s")
                    continue
            if not why:
                self._tell(uuid, f"member {uuid} at {host}: certificate accepted{f' ({note})' if note else ''}")
                continue
            if uuid not in self.evicted:
                db.run(f"SET GLOBAL wsrep_provider_options='evs.evict={uuid}';")
                self.evicted.add(uuid)
                out.append(uuid)
            self._tell(uuid, f"member {uuid} at {host} evicted from the cluster: {why}")
        for gone in set(self.checked) - {u for u, _ in members}:
            del self.checked[gone]
        return out
