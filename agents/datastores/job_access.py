"""The `jobAccess` parameter of a datastore instance: where job certificates open their owner's
grants (docs/compute.md, "Job certificates"). Shipped beside the PostgreSQL and MariaDB/Galera
releases' programs (etc/job-access.txt); read as hostile input.

One entry a line, exactly `<database> <dc>/user/<name> <read|readwrite> <worker dc> <address>`
(single spaces; lib/compute/job-access.ts `formatJobAccessLine` writes them). The address is the
worker node's, in canonical text (what the job certificate's O carries): never unspecified,
multicast or an IPv4-mapped IPv6 address. Every entry must repeat a grant of etc/access.txt, so the
parameter can place a grant on nodes but never widen it. Bounded before parsing: 256 KiB, 4096
entries, 200 characters a line; a repeated entry is refused.

`pg_job_lines` and `mariadb_job_account` render exactly what lib/compute/job-access.ts's
`pgJobLines` and `mariadbJobAccount` render: test/unit/compute/job-access-python.test.ts compares
both on the same entries, hostile ones included.
"""
import ipaddress
import re

from crl_sources import _show

PARAMETER = "jobAccess"
MAX_BYTES = 256 * 1024
MAX_ENTRIES = 4096
MAX_LINE = 200
_DC = r"[a-z][a-z0-9-]{0,62}"
# lib/pki/identity.ts: a plain user name, at most 64 characters; datastores grant users only.
_LINE = re.compile(
    r"([a-z][a-z0-9_]{0,62}) (" + _DC + r")/user/([a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?) "
    r"(read|readwrite) (" + _DC + r") ([0-9a-f.:]{2,39})"
)
ALLOWED = "<database> <dc>/user/<name> <read|readwrite> <worker dc> <canonical worker address>"


class JobAccessError(ValueError):
    pass


def _address(text):
    """The canonical worker address, or None (hostile or malformed)."""
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    if str(a) != text or a.is_unspecified or a.is_multicast or (a.version == 6 and a.ipv4_mapped is not None):
        return None
    return a


def parse_job_access(text, where, grants=None):
    """Entries as dicts; `grants` (a set of (database, identity, access)) when the datastore checks them."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise JobAccessError(f"parameter {PARAMETER} ({where}): larger than {MAX_BYTES} bytes; allowed: at most {MAX_BYTES}")
    entries, seen = [], {}
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        at = f"parameter {PARAMETER} ({where}:{n})"
        m = _LINE.fullmatch(line) if len(line) <= MAX_LINE else None
        address = _address(m.group(6)) if m else None
        if m is None or address is None:
            raise JobAccessError(f"{at}: {_show(line)}; allowed: {ALLOWED}, single spaces")
        database, dc, name, access, worker_dc, addr = m.groups()
        identity = f"{dc}/user/{name}"
        if grants is not None and (database, identity, access) not in grants:
            raise JobAccessError(f"{at}: {identity} has no {access} grant on {database} in access.txt; "
                                 "job lines only place a grant of the same stack on worker nodes")
        if line in seen:
            raise JobAccessError(f"{at}: repeats line {seen[line]}; list each entry once")
        seen[line] = n
        if len(entries) == MAX_ENTRIES:
            raise JobAccessError(f"parameter {PARAMETER} ({where}): more than {MAX_ENTRIES} entries")
        entries.append({"database": database, "dc": dc, "name": name, "identity": identity, "access": access,
                        "worker_dc": worker_dc, "address": addr, "version": address.version})
    return entries


def _job_name(e):
    return f"{e['dc']}.{e['name']}"


def pg_job_map(address):
    """One pg_ident map per node: a map admits every subject it lists whichever pg_hba line names it."""
    return f"zrjobs-{address}"


def pg_job_lines(entries):
    """(hba, ident): the job lines to put before the CN catch-all, and their pg_ident map lines."""
    hba = [f"hostssl {e['database']} {e['name']} {e['address']}/{128 if e['version'] == 6 else 32} "
           f"cert clientcert=verify-full clientname=DN map={pg_job_map(e['address'])}" for e in entries]
    ident = []
    for e in entries:
        line = f"{pg_job_map(e['address'])} \"CN={_job_name(e)},O={e['address']}\" {e['name']}"
        if line not in ident:
            ident.append(line)
    return hba, ident


def mariadb_job_account(e, issuer):
    """(account, require) of the owner's jobs on one node; `issuer` is the DN of the worker data center's
    site CA (the galera service's jobIssuers parameter)."""
    return (f"'{e['identity']}'@'{e['address']}'",
            f"REQUIRE SUBJECT '/O={e['address']}/CN={_job_name(e)}' AND ISSUER '{issuer}'")
