"""mariadb-galera: evicts cluster members whose certificate the platform no longer accepts.

Galera 4's TLS (socket.ssl_*) verifies a peer's chain against the platform's CAs and nothing more:
no CRL, no name (docs/datastores.md, "Who may be a member"). So the access program of every member
fetches the certificate each other member serves on its Galera port (at once for a member it has
not seen and whenever run/crls.pem changed, else every GUARD_S seconds) and checks it as
galera_peers.py checks any peer: chain, a current CRL of every CA of it (the agent's and every data
center's site's, kept by crl_sources.CrlKeeper, refreshed every crl_sources.DEFAULT_REFRESH_S), kind
`service`, this member's service name, a data center of the platform. Fail closed: once every site
has answered at least once since this program started, a member whose chain has a CA without a
current CRL here is refused like a revoked one; before that it is checked again at the next pass. A member whose certificate is refused, or whose address is not one
of the configured peers, is evicted from the cluster (Galera's evs.evict: it cannot come back until
it restarts, and is evicted again then). Detection, not prevention: a member is in the cluster, and
has received its state, until the access program's next pass (every few seconds) evicts it.
"""
import hashlib
import os
import ssl
import time

from galera_peers import NO_CURRENT_CRL, PeerTls, crl_keeper
from galera_recovery import UUID

GUARD_S = 60


VERDICT, NO_ANSWER, NO_CRL_YET = "verdict", "no answer", "no CRL yet"


def served_certificate_refusal(tls, host, port, crls_complete):
    """(why the certificate served on host:port is not a member's, None when accepted; VERDICT or why
    there is none yet: NO_ANSWER, or NO_CRL_YET when a CA of its chain has no current CRL here before
    every site answered once; after that, no CRL is a refusal: fail closed)."""
    try:
        with tls.connect(host, port) as s:
            return tls.accept(s), VERDICT
    except ssl.SSLCertVerificationError as e:
        if e.verify_code in NO_CURRENT_CRL:
            why = f"certificate refused: {e.verify_message} (no current CRL of a CA of its chain here)"
            return why, VERDICT if crls_complete else NO_CRL_YET
        return f"certificate refused: {e.verify_message}", VERDICT
    except (ssl.SSLError, OSError) as e:
        return f"no answer ({e.__class__.__name__})", NO_ANSWER


class PeerGuard:
    def __init__(self, inst, log):
        self.tls_dir = os.path.join(inst, "tls")
        self.run_dir = os.path.join(inst, "run")
        self.log = log
        self.checked = {}  # member uuid → time of its last check
        self.evicted = set()
        self.told = {}
        self.crls = None
        self.keeper = crl_keeper(inst, log)

    def _tell(self, key, msg):
        if self.told.get(key) != msg:  # once per member and reason
            self.told[key] = msg
            self.log(msg)

    def check(self, conf, db):
        """One pass; db.run(sql) → rows. Returns the uuids evicted in this pass."""
        me = db.run("SHOW STATUS LIKE 'wsrep_gcomm_uuid';")
        me = me[0][-1] if me else ""
        members = db.run("SELECT node_uuid, node_incoming_address FROM mysql.wsrep_cluster_members;")
        self.keeper.refresh_if_due()
        now = time.monotonic()
        try:
            with open(self.keeper.out_file, "rb") as f:
                crls = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            crls = None  # none fetched yet: every chain is refused for want of a CRL (not yet a verdict)
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
                why, verdict = served_certificate_refusal(tls, host, conf["galera-port"], self.keeper.complete)
                if verdict == NO_CRL_YET:
                    del self.checked[uuid]  # checked again at the next pass, when the keeper may have it
                if verdict != VERDICT:
                    self._tell(uuid, f"member {uuid} at {host}: cannot check its certificate yet ({why})")
                    continue
            if not why:
                self._tell(uuid, f"member {uuid} at {host}: certificate accepted")
                continue
            if uuid not in self.evicted:
                db.run(f"SET GLOBAL wsrep_provider_options='evs.evict={uuid}';")
                self.evicted.add(uuid)
                out.append(uuid)
            self._tell(uuid, f"member {uuid} at {host} evicted from the cluster: {why}")
        for gone in set(self.checked) - {u for u, _ in members}:
            del self.checked[gone]
        return out
