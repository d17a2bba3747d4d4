"""The CRLs of every data center, for the datastore releases that check other data centers' certificates
(PostgreSQL's replication, Galera's members). Copied into each release (release-postgresql.ts,
lab/releases/mariadb-galera/release.ts) and run there by the partition user; python3 and openssl only.

The node agent keeps its own site's CRLs (tls/crls.pem); a site CA's CRL is served only by its own site,
so a peer certificate issued by another data center's CA needs that site's bundle. The `crlSources`
parameter (stack-datastores.ts `crlSourcesOf`: one `site.<dc>.<domain>@<ipv4>:<port>` a line) names
every site; each is asked for `GET /crls` over TLS verified against the platform root for the site's
name. A CRL is hostile input until screened (`screen`): it must be one PEM block of at most
MAX_CRL_BYTES, name as issuer a CA this node holds (its chain.pem) or received in a site's verified TLS
chain, carry that CA's signature, and have a nextUpdate still ahead. Of one issuer only the newest (CRL
number, then lastUpdate) is kept, held CRLs included, so a site serving an older CRL rolls nothing back.

Fail closed (docs/datastores.md, "CRLs of every data center"): what is refused is dropped and logged;
a site that does not answer leaves its last screened CRLs in use until their nextUpdate; after that no
CRL of that CA exists here and the consumers (OpenSSL checking a CRL for every CA of a chain) refuse
every certificate it issued. A CRL of an offline CA (the ceremony's data-center CAs issue user
certificates; no TLS chain here carries them) is refused, unless the caller asks to keep it
(`keep_unheld`: PostgreSQL and Galera, whose SQL ports check users' chains): it is then used unverified here and OpenSSL checks its signature against
the chain it is used for, so a forged one can only make that CA's certificates refused.
"""
import calendar
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time

OPENSSL = "/usr/bin/openssl"
MAX_SOURCES = 16
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_CRL_BYTES = 4 * 1024 * 1024  # lib/pki/errors.ts MAX_CRL_BYTES (the unit test holds them equal)
MAX_CRLS_PER_SOURCE = 64
TIMEOUT_S = 10
DEFAULT_REFRESH_S = 60
SOURCE = re.compile(
    r"^(site\.[a-z][a-z0-9-]{0,62}\.[a-z0-9](?:[a-z0-9.-]{0,200}[a-z0-9])?)@((?:\d{1,3}\.){3}\d{1,3}):(\d{1,5})$"
)
PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----\r?\n[A-Za-z0-9+/=\r\n]{1,8000000}?-----END X509 CRL-----\r?\n?")
PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----\r?\n?")


class SourceError(ValueError):
    pass


def _show(value):
    text = value.encode("unicode_escape").decode("ascii")
    return '"' + (text if len(text) <= 120 else text[:117] + "...") + '"'


def parse_sources(text, where="crl-sources"):
    """[(site name, ipv4, port)] of the crlSources lines; a bad line is refused with file, line and value."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = SOURCE.match(s)
        ok = m and all(int(o) <= 255 for o in m.group(2).split(".")) and 1 <= int(m.group(3)) <= 65535
        if not ok:
            raise SourceError(f"{where}:{n}: {_show(s)}; allowed: site.<dc>.<domain>@<ipv4>:<port>, one a line")
        out.append((m.group(1), m.group(2), int(m.group(3))))
        if len(out) > MAX_SOURCES:
            raise SourceError(f"{where}: more than {MAX_SOURCES} sources")
    return out


def certificates(pem_bytes):
    return [m.group(0) for m in PEM_CERT.finditer(pem_bytes)]


def fetch_site(site, ip, port, root_file):
    """(PEM CRLs, PEM CA certificates of the site's verified chain) from one site's `GET /crls`."""
    ctx = ssl.create_default_context(cafile=root_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((ip, port), timeout=TIMEOUT_S)
    sock = ctx.wrap_socket(raw, server_hostname=site)  # verifies the chain to the root and the site's name
    # The chain OpenSSL built and verified (the site's CA among it): what this site's CRLs are checked
    # against. Public from Python 3.13; Debian bookworm's 3.11 has it on the underlying object.
    chain = sock._sslobj.get_verified_chain()
    cas = [ssl.DER_cert_to_PEM_cert(c.public_bytes(ssl._ssl.ENCODING_DER)).encode("ascii") for c in chain[1:]]
    conn = http.client.HTTPConnection(site, port, timeout=TIMEOUT_S)
    conn.sock = sock
    try:
        conn.request("GET", "/crls")
        resp = conn.getresponse()
        body = resp.read(MAX_RESPONSE_BYTES + 1)
    finally:
        conn.close()
    if resp.status != 200:
        raise ValueError(f"HTTP {resp.status}")
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
    crls = json.loads(body)["crls"]
    if not isinstance(crls, list) or not all(isinstance(c, str) for c in crls):
        raise ValueError('"crls" is not a list of strings')
    if len(crls) > MAX_CRLS_PER_SOURCE:
        raise ValueError(f"{len(crls)} CRLs; at most {MAX_CRLS_PER_SOURCE} are read")
    return [c.encode("latin-1") for c in crls], cas


UNHELD = "its issuer is none of the platform's CAs held here"


def _openssl(pem_file, cas_file):
    args = [OPENSSL, "crl", "-in", pem_file, "-noout", "-issuer", "-nameopt", "RFC2253", "-lastupdate", "-nextupdate", "-crlnumber"]
    r = subprocess.run(args + (["-CAfile", cas_file] if cas_file else []),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    facts = dict(line.split("=", 1) for line in r.stdout.decode("utf-8", "replace").splitlines() if "=" in line)
    return r.returncode, r.stderr.decode("ascii", "replace"), facts


def _openssl_facts(pem, cas_file, work_dir, keep_unheld):
    """openssl's verdict on one CRL: (its facts, whether its signature was checked), or the reason it is refused."""
    with tempfile.NamedTemporaryFile(dir=work_dir, suffix=".crl") as f:
        f.write(pem)
        f.flush()
        rc, err, facts = _openssl(f.name, cas_file)
        if rc == 0 and "verify OK" in err:
            return facts, True, None
        if "Unable to load CRL" in err or "Could not read" in err:
            return None, False, "not a readable CRL"
        if "issuer certificate" in err:
            if not keep_unheld:
                return None, False, UNHELD
            # An offline CA's (the ceremony's data-center CAs issue user certificates): no certificate
            # of it is held here, so OpenSSL checks the signature against the chain it is used for.
            rc, err, facts = _openssl(f.name, None)
            return (facts, False, None) if rc == 0 else (None, False, "not a readable CRL")
        if "verify fail" in err:
            return None, False, "its signature is not its issuer's (forged or damaged)"
        return None, False, f"refused by openssl: {err.strip()[:200]!r}"


def _when(text):
    return calendar.timegm(time.strptime(text.strip(), "%b %d %H:%M:%S %Y %Z"))


def check_crl(pem, cas_file, work_dir, now, keep_unheld=False, cache=None):
    """(issuer, number, lastUpdate, nextUpdate) of a usable CRL, or (None, why it is refused).
    keep_unheld: keep a CRL whose issuer no held CA names (see _openssl_facts) instead of refusing it.
    cache: a dict of openssl's verdicts by CRL and CA bundle, so that an unchanged CRL costs no process."""
    if len(pem) > MAX_CRL_BYTES:
        return None, f"{len(pem)} bytes; at most {MAX_CRL_BYTES}"
    if not PEM_CRL.fullmatch(pem.strip() + b"\n"):
        return None, "not one PEM X509 CRL block"
    key = None
    if cache is not None:
        with open(cas_file, "rb") as f:
            key = (hashlib.sha256(pem.strip()).digest(), hashlib.sha256(f.read()).digest(), keep_unheld)
    if key in (cache or {}):
        facts, why = cache[key]
    else:
        facts, _, why = _openssl_facts(pem.strip() + b"\n", cas_file, work_dir, keep_unheld)
        if cache is not None:
            if len(cache) >= 4 * MAX_CRLS_PER_SOURCE:
                cache.clear()  # bounded: a site serving ever new CRLs cannot grow it
            cache[key] = (facts, why)
    if why:
        return None, why
    try:
        next_update = _when(facts["nextUpdate"])
        last_update = _when(facts["lastUpdate"])
    except (KeyError, ValueError):
        return None, "no nextUpdate or lastUpdate: a CRL that never expires is not used"
    if next_update <= now:
        return None, f"expired (nextUpdate {facts['nextUpdate'].strip()})"
    number = facts.get("crlNumber", "").strip()
    number = int(number, 16) if re.fullmatch(r"0x[0-9A-Fa-f]{1,40}", number) else -1
    return (facts["issuer"].strip(), number, last_update, next_update), None


def screen(candidates, cas_file, work_dir, now=None, keep_unheld=False, cache=None):
    """(kept PEM CRLs, one per issuer, sorted; [(index, reason)] dropped) of `candidates` (oldest source first)."""
    now = time.time() if now is None else now
    best, dropped = {}, []
    for i, pem in enumerate(candidates):
        facts, why = check_crl(pem, cas_file, work_dir, now, keep_unheld, cache)
        if why:
            dropped.append((i, why))
            continue
        issuer, number, last_update, _ = facts
        held = best.get(issuer)
        if not held or (number, last_update) > (held[0], held[1]):
            best[issuer] = (number, last_update, pem.strip() + b"\n")
    return sorted(v[2] for v in best.values()), dropped


class CrlKeeper:
    """Keeps `out_file`: the screened CRLs of the agent's file(s) and of every site, refreshed every `refresh_s`."""

    def __init__(self, sources_file, chain_file, local_crl_files, out_file, log, refresh_s=DEFAULT_REFRESH_S,
                 keep_unheld=False):
        self.sources_file, self.chain_file, self.local = sources_file, chain_file, list(local_crl_files)
        self.out_file, self.log, self.refresh_s = out_file, log, refresh_s
        self.keep_unheld = keep_unheld
        self.work_dir = os.path.dirname(out_file)
        self.last = None  # monotonic time of the last refresh
        self.complete = False  # every source answered at least once since this program started
        self.answered = set()
        # The CAs of each site's last verified TLS chain: a site that does not answer now (restarting,
        # unreachable) keeps its held CRLs checkable against its CA, so they stay in use until their
        # nextUpdate as promised above, instead of being dropped as unheld and its members refused.
        self.site_cas = {}
        self.told = {}
        self.verdicts = {}  # check_crl's cache

    def _tell(self, key, msg):
        if len(self.told) > 1000:
            self.told.clear()  # bounded: ever new hostile CRLs cannot grow it
        if self.told.get(key) != msg:  # once per source and reason: a hostile site cannot flood the log
            self.told[key] = msg
            self.log(msg)

    def refresh_if_due(self):
        if self.last is None or time.monotonic() - self.last >= self.refresh_s:
            return self.refresh()
        return False

    def refresh(self):
        """Fetches, screens and writes; returns whether `out_file` changed."""
        self.last = time.monotonic()
        with open(self.sources_file, "rb") as f:
            sources = parse_sources(f.read(64 * 1024).decode("utf-8", "replace"), self.sources_file)
        with open(self.chain_file, "rb") as f:
            chain = certificates(f.read(256 * 1024))
        if not chain:
            raise SourceError(f"{self.chain_file}: no certificate; the root is its last")
        root_file = os.path.join(self.work_dir, "crl-root.pem")
        _write(root_file, chain[-1])
        cas, received = list(chain), []
        for name in self.local + [self.out_file]:  # held first: a newer received CRL replaces them
            try:
                with open(name, "rb") as f:
                    received += [m.group(0) for m in PEM_CRL.finditer(f.read(MAX_RESPONSE_BYTES))]
            except FileNotFoundError:
                pass
        for site, ip, port in sources:
            try:
                crls, self.site_cas[site] = fetch_site(site, ip, port, root_file)
                received += crls
                self.answered.add(site)
                self._tell(site, f"CRLs of {site}: {len(crls)} received")
            except (OSError, ValueError, KeyError, TypeError, ssl.SSLError, http.client.HTTPException) as e:
                self._tell(site, f"CRLs of {site} not fetched ({e.__class__.__name__}: {str(e)[:200]}); "
                                 "its last screened CRLs stay in use until their nextUpdate")
        self.complete = self.answered >= {s for s, _, _ in sources}
        for site, _, _ in sources:
            cas += self.site_cas.get(site, [])
        cas_file = os.path.join(self.work_dir, "crl-cas.pem")
        _write(cas_file, b"".join(c.strip() + b"\n" for c in dict.fromkeys(cas)))
        kept, dropped = screen(received, cas_file, self.work_dir, keep_unheld=self.keep_unheld, cache=self.verdicts)
        for i, why in dropped:
            self._tell(("dropped", hashlib.sha256(received[i]).hexdigest()), f"a CRL is not used: {why}")
        text = b"".join(kept)
        try:
            with open(self.out_file, "rb") as f:
                if f.read(MAX_RESPONSE_BYTES + 1) == text:
                    return False
        except FileNotFoundError:
            pass
        _write(self.out_file, text)
        self.log(f"CRLs in use: {len(kept)} issuer(s), written to {self.out_file}")
        return True


def _write(path, data):
    tmp = f"{path}.{os.getpid()}.new"  # two programs of one instance may refresh at once
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "wb") as f:
        f.write(data)
    os.replace(tmp, path)
