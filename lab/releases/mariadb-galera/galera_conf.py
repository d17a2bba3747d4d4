"""mariadb-galera: reading the instance's etc/galera.conf and etc/access.txt.

The node agent renders both from the signed release's templates and the instance's parameters:
galera.conf from zeroroot:services[].parameters (lib/datastores/mariadb-galera.ts writes them),
access.txt from zeroroot:dataAccess (parameter `access`, lib/fleet/datastore-parameters.ts). They
are read strictly: an unknown key, a bad address, a bad grant or a duplicate is refused with the
file, line, the value received and what is allowed. Nothing in them is secret.

galera.conf:
  cluster      = <name>                                  wsrep_cluster_name
  peers        = <ipv4>,<ipv4>,<ipv4>                    every member, this one included (3..9, odd)
  bootstrap    = <ipv4>                                  the one member that may found a new cluster
  sql-port, galera-port, ist-port, sst-port = <port>     from the release's declared ports
  user-issuers = <dc> <issuer DN>; ...                   DN of the CA that issues <dc>'s user certificates
  job-issuers  = <dc> <issuer DN>; ... (may be empty)    DN of <dc>'s site CA, which issues its job certificates
access.txt, one grant a line:
  <database> <dc>/user/<name> <read|readwrite>
job-access.txt (parameter `jobAccess`, lib/compute/job-access.ts), read by job_access.py: where job
certificates open a grant of access.txt, one worker node a line.
"""
import ipaddress
import re

# Shipped beside this file in the release (lab/orchestrate/stack-datastores.ts CRL_SOURCES_MODULE,
# JOB_ACCESS_MODULE): one escaping of received values for messages, one reading of jobAccess.
from crl_sources import _show
from job_access import MAX_BYTES as MAX_JOB_ACCESS_BYTES, JobAccessError, parse_job_access

MAX_BYTES = 64 * 1024
MAX_PEERS = 9
MAX_GRANTS = 1000
KEYS = ("cluster", "peers", "bootstrap", "sql-port", "galera-port", "ist-port", "sst-port", "user-issuers",
        "job-issuers")
ACCESS = ("read", "readwrite")
CLUSTER = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
DC = r"[a-z][a-z0-9-]{0,62}"
# lib/pki/identity.ts: a plain name, at most 64 characters; datastores grant users only.
IDENTITY = re.compile(r"^(" + DC + r")/user/([a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?)$")
DATABASE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# The DNs zeroroot's ceremony writes (/O=zeroroot/CN=dc1.example issuing CA): no quote, backslash or
# separator of this file can reach SQL.
DN = re.compile(r"(?:/[A-Za-z]{1,16}=[A-Za-z0-9 ._-]{1,128}){1,8}")
DC_ID = re.compile(DC)
# Issuers a key may list: one a data center (lib/datastores/mariadb-galera.ts GALERA_LIMITS.issuers).
MAX_ISSUERS = 64


class ConfError(Exception):
    pass




def _entries(value):
    return [e.strip() for e in value.split(";") if e.strip()]


def parse_conf(text, where="galera.conf"):
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ConfError(f"{where}: larger than {MAX_BYTES} bytes; allowed: at most {MAX_BYTES}")
    raw = {}
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key, sep, value = s.partition("=")
        key, value = key.strip(), value.strip()
        at = f"{where}:{n}"
        if not sep or key not in KEYS:
            raise ConfError(f"{at}: {_show(key)} is not a setting; allowed: {', '.join(KEYS)} (key = value)")
        if key in raw:
            raise ConfError(f"{at}: {key} is set twice (first on line {raw[key][1]}); keep one")
        raw[key] = (value, n)
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise ConfError(f"{where}: missing {', '.join(missing)}; give the service parameters the release's template names")
    conf = {}
    at = lambda k: f"{where}:{raw[k][1]}: {k}"  # noqa: E731
    cluster = raw["cluster"][0]
    if not CLUSTER.match(cluster):
        raise ConfError(f"{at('cluster')}: {_show(cluster)}; allowed: lower-case letters, digits and -, starting with a letter")
    conf["cluster"] = cluster
    for k in ("sql-port", "galera-port", "ist-port", "sst-port"):
        v = raw[k][0]
        if not v.isdigit() or not 1024 <= int(v) <= 65535:
            raise ConfError(f"{at(k)}: {_show(v)}; allowed: a port from 1024 to 65535")
        conf[k] = int(v)
    peers = [p.strip() for p in raw["peers"][0].split(",") if p.strip()]
    for p in peers:
        try:
            ipaddress.IPv4Address(p)
        except ValueError:
            raise ConfError(f"{at('peers')}: {_show(p)} is not an IPv4 address; allowed: dotted IPv4 addresses separated by commas")
    if len(set(peers)) != len(peers):
        raise ConfError(f"{at('peers')}: an address is listed twice; list each member once")
    if not 3 <= len(peers) <= MAX_PEERS or len(peers) % 2 == 0:
        raise ConfError(f"{at('peers')}: {len(peers)} members; allowed: an odd number from 3 to {MAX_PEERS} (a quorum survives one loss)")
    conf["peers"] = peers
    if raw["bootstrap"][0] not in peers:
        raise ConfError(f"{at('bootstrap')}: {_show(raw['bootstrap'][0])} is not one of the peers; name the member that founds the cluster")
    conf["bootstrap"] = raw["bootstrap"][0]
    for key in ("user-issuers", "job-issuers"):
        issuers = {}
        entries = _entries(raw[key][0])
        if len(entries) > MAX_ISSUERS:
            raise ConfError(f"{at(key)}: {len(entries)} entries; allowed: at most {MAX_ISSUERS}, one a data center")
        for e in entries:
            dc, _, dn = e.partition(" ")
            dn = dn.strip()
            if not DC_ID.fullmatch(dc) or not DN.fullmatch(dn):
                raise ConfError(f"{at(key)}: {_show(e)}; allowed: <data center> </O=.../CN=...> entries separated by ;")
            if dc in issuers:
                raise ConfError(f"{at(key)}: data center {dc} is listed twice")
            # REQUIRE ISSUER compares names only: two data centers with one DN could pass for each other.
            if dn in issuers.values():
                raise ConfError(f"{at(key)}: {_show(dn)} is the DN of two data centers; each has its own CA")
            issuers[dc] = dn
        conf[key] = issuers
    # A site CA named like a user CA could issue certificates that pass for users' (/CN=<name>).
    shared = sorted(set(conf["user-issuers"].values()) & set(conf["job-issuers"].values()))
    if shared:
        raise ConfError(f"{at('job-issuers')}: {_show(shared[0])} is also a user-issuers DN; a site CA issues no user certificates")
    return conf


def parse_access(text, issuers, where="access.txt"):
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ConfError(f"{where}: larger than {MAX_BYTES} bytes; allowed: at most {MAX_BYTES}")
    grants, seen = [], {}
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        at = f"{where}:{n}"
        parts = s.split()
        m = IDENTITY.match(parts[1]) if len(parts) == 3 else None
        if not m or not DATABASE.match(parts[0]) or parts[2] not in ACCESS:
            raise ConfError(f"{at}: {_show(s)}; allowed: <database> <dc>/user/<name> <read|readwrite>")
        if m.group(1) not in issuers:
            raise ConfError(f"{at}: {_show(s)}: no user-issuers entry for data center {m.group(1)}; add its user CA's DN")
        key = (parts[1], parts[0])
        if key in seen:
            raise ConfError(f"{at}: {parts[1]} is granted {parts[0]} twice (first on line {seen[key]}); keep one")
        seen[key] = n
        grants.append({"identity": parts[1], "dc": m.group(1), "name": m.group(2), "database": parts[0], "access": parts[2]})
        if len(grants) > MAX_GRANTS:
            raise ConfError(f"{where}: more than {MAX_GRANTS} grants")
    return grants


def _read(path, limit=MAX_BYTES):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ConfError(f"{path}: larger than {limit} bytes; allowed: at most {limit}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfError(f"{path}: not UTF-8 text")


def read_conf(inst):
    """galera.conf of the instance directory, with the grants of access.txt under "grants"."""
    path = f"{inst}/etc/galera.conf"
    conf = parse_conf(_read(path), path)
    path = f"{inst}/etc/access.txt"
    conf["grants"] = parse_access(_read(path), conf["user-issuers"], path)
    path = f"{inst}/etc/job-access.txt"
    granted = {(g["database"], g["identity"], g["access"]) for g in conf["grants"]}
    try:
        conf["jobs"] = parse_job_access(_read(path, MAX_JOB_ACCESS_BYTES), path, granted)
    except JobAccessError as e:
        raise ConfError(str(e)) from None
    for e in conf["jobs"]:
        if e["worker_dc"] not in conf["job-issuers"]:
            raise ConfError(f"parameter jobAccess ({path}): a job line of data center {e['worker_dc']} and no "
                            f"job-issuers entry for it; add its site CA's DN to the service's jobIssuers parameter")
    return conf
