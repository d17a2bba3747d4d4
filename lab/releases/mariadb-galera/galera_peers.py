"""mariadb-galera: which peer certificates a member accepts, and the recovery reports they exchange.

A peer is accepted only when its TLS certificate chains to the platform's root, a current CRL of
every CA of its chain is held and revokes none of them (run/crls.pem: the agent's tls/crls.pem and
every data center's site's, fetched and screened by crl_sources.py; no CRL for a CA, no peer: fail
closed), and its identity URI says kind `service`, a data center of the platform (galera.conf's
user-issuers), this member's domain and this member's service name (the first DNS label of the
name, `galera` in galera.s1.dc1.example.com). Galera's own TLS cannot check any of this (no CRL,
no peer name: docs/datastores.md); these checks guard what the release itself exchanges.
"""
import os
import socket
import ssl
import threading
from urllib.parse import urlsplit

from galera_recovery import RUNNING, UNKNOWN, ReportError, encode_report, parse_report

TIMEOUT_S = 3.0
# X509_V_ERR_UNABLE_TO_GET_CRL, _CRL_NOT_YET_VALID, _CRL_HAS_EXPIRED: no current CRL of a CA of the chain
NO_CURRENT_CRL = (3, 11, 12)
ID_SCHEME = "zeroroot"
CRLS = "crls.pem"  # in the instance's run/: what peers and mariadbd's TLS clients are checked against


def crl_keeper(inst, log):
    """The keeper of run/crls.pem: the agent's CRLs and every site's of etc/crl-sources.txt, screened."""
    # The release carries crl_sources.py next to this file; imported here so that check_peer and the
    # reports need nothing else (the unit tests load them from the source tree).
    from crl_sources import CrlKeeper

    return CrlKeeper(
        os.path.join(inst, "etc", "crl-sources.txt"),
        os.path.join(inst, "tls", "chain.pem"),
        [os.path.join(inst, "tls", "crls.pem")],
        os.path.join(inst, "run", CRLS),
        log,
        # mariadbd's ssl_crl is this file too (my.cnf.template): users' chains need the CRLs of the
        # ceremony's offline data-center CAs, which only the agent's file holds and no chain here
        # carries; OpenSSL checks their signatures against the chain they are used for.
        keep_unheld=True,
    )


class PeerRefused(Exception):
    pass


def identity_of(cert):
    """(kind, dc, domain, name) from the single zeroroot:// URI of a decoded certificate."""
    uris = [v for k, v in cert.get("subjectAltName", ()) if k == "URI" and v.startswith(ID_SCHEME + "://")]
    if len(uris) != 1:
        raise PeerRefused(f"certificate carries {len(uris)} identity URIs; exactly one is required")
    u = urlsplit(uris[0])
    kind, _, zone = (u.hostname or "").partition(".")
    dc, _, domain = zone.partition(".")
    name = u.path[1:]
    if not kind or not dc or not domain or not name or "/" in name:
        raise PeerRefused(f"identity URI {uris[0][:200]!r} is not zeroroot://<kind>.<dc>.<domain>/<name>")
    return kind, dc, domain, name


def own_identity(tls_dir):
    # The member's own certificate, decoded by the ssl module (no handshake, no other tool needed).
    return identity_of(ssl._ssl._test_decode_cert(os.path.join(tls_dir, "cert.pem")))


def check_peer(cert, mine, dcs):
    """None when `cert` (getpeercert() of a verified chain) names a member of this service; else why not."""
    try:
        kind, dc, domain, name = identity_of(cert)
    except PeerRefused as e:
        return str(e)
    text = f"{dc}/{kind}/{name}"
    if kind != "service":
        return f"{text} is a {kind} certificate; a member presents a service certificate"
    if dc not in dcs:
        return f"{text} is of data center {dc}, not one of the platform's ({', '.join(sorted(dcs))})"
    if domain != mine[2]:
        return f"{text} is of domain {domain}, not {mine[2]}"
    if name.split(".")[0] != mine[3].split(".")[0]:
        return f"{text} is not a {mine[3].split('.')[0]} service certificate"
    return None


class PeerTls:
    """Contexts for both ends: this member's certificate (leaf and chain), the chain and CRLs as trust."""

    def __init__(self, tls_dir, run_dir, dcs):
        self.dcs = set(dcs)
        self.mine = own_identity(tls_dir)
        bundle = os.path.join(run_dir, "peer-cert.pem")
        with open(os.path.join(tls_dir, "cert.pem"), "rb") as c, open(os.path.join(tls_dir, "chain.pem"), "rb") as ch:
            text = c.read(65536).rstrip(b"\n") + b"\n" + ch.read(65536)
        with open(bundle + ".new", "wb") as f:
            f.write(text)
        os.replace(bundle + ".new", bundle)
        # The announcer serves its report to any member certificate (a report is no secret); what a
        # member *accepts* is checked by the client side, with the CRLs.
        self.server = self._context(ssl.Purpose.CLIENT_AUTH, tls_dir, bundle, None)
        self.client = self._context(ssl.Purpose.SERVER_AUTH, tls_dir, bundle, os.path.join(run_dir, CRLS))

    @staticmethod
    def _context(purpose, tls_dir, bundle, crls):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose == ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False  # the identity URI is checked instead (check_peer)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_cert_chain(bundle, os.path.join(tls_dir, "key.pem"))
        ctx.load_verify_locations(os.path.join(tls_dir, "chain.pem"))
        if crls:
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN  # every CA of the chain needs a current CRL
            if os.path.exists(crls):  # none yet: every chain is refused (UNABLE_TO_GET_CRL)
                with open(crls, "rb") as f:
                    if b"X509 CRL" in f.read(64):
                        ctx.load_verify_locations(crls)  # CRLs: PEM files may hold them
        return ctx

    def connect(self, addr, port):
        """A TLS socket to a peer whose chain verifies, with a current CRL of every CA of it."""
        raw = socket.create_connection((addr, port), timeout=TIMEOUT_S)
        raw.settimeout(TIMEOUT_S)
        try:
            return self.client.wrap_socket(raw)
        except BaseException:
            raw.close()
            raise

    def accept(self, sock):
        """The verified peer's refusal reason, or None."""
        return check_peer(sock.getpeercert(), self.mine, self.dcs)


class Announcer:
    """Serves this member's report to accepted peers on (address, port) until closed. One at a time, bounded."""

    def __init__(self, tls, address, port, report, log):
        self.tls, self.report, self.log = tls, encode_report(report), log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(8)
        self.sock.settimeout(1.0)
        self.closed = False
        self.refused = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closed:
            try:
                conn, addr = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(TIMEOUT_S)
            try:
                with self.tls.server.wrap_socket(conn, server_side=True) as s:
                    why = self.tls.accept(s)
                    if why:
                        self._refused(addr[0], f"its certificate is refused: {why}")
                        continue
                    s.sendall(self.report + b"\n")
            except (ssl.SSLError, OSError) as e:
                self._refused(addr[0], f"TLS: {e}")
            finally:
                conn.close()

    def _refused(self, addr, why):
        if self.refused.get(addr) != why:  # once per reason: a hostile peer cannot flood the log
            self.refused[addr] = why
            self.log(f"no report given to {addr}: {why}")

    def close(self):
        self.closed = True
        self.thread.join(timeout=3)
        self.sock.close()


def reachable(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=1.0):
            return True
    except OSError:
        return False


def probe(tls, addr, galera_port, report_port):
    """A peer's report: running when its Galera port answers, else what it publishes, else unknown (why)."""
    if reachable(addr, galera_port):
        return {"state": RUNNING}
    try:
        with tls.connect(addr, report_port) as s:
            why = tls.accept(s)
            if why:
                return {"state": UNKNOWN, "why": f"refused its certificate: {why}"}
            data = b""
            while len(data) <= 1024 and not data.endswith(b"\n"):
                chunk = s.recv(1025 - len(data))
                if not chunk:
                    break
                data += chunk
        return parse_report(data.rstrip(b"\n"))
    except ssl.SSLCertVerificationError as e:
        return {"state": UNKNOWN, "why": f"refused its certificate: {e.verify_message}"}
    except ReportError as e:
        return {"state": UNKNOWN, "why": f"refused its report: {e}"}
    except (ssl.SSLError, OSError) as e:
        return {"state": UNKNOWN, "why": f"no report ({e.__class__.__name__}: {e})"[:300]}
