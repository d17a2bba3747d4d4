"""mariadb-galera: keeps the database's users equal to the grants of the stack (program "access").

argv: <instance dir>. Runs as the partition user and talks to the local mariadbd over its unix
socket, where the partition user is the only administrator (unix_socket authentication: no
password exists). Once the member is Synced, and again whenever etc/galera.conf changes, it makes:

  * one account per granted identity, named by the identity (`dc1/user/alice`@`%`), that logs in
    only with a certificate whose subject is /CN=<name> AND whose issuer is the DN of <dc>'s user
    CA (REQUIRE SUBJECT ... AND ISSUER ...; no password, so a password attempt cannot succeed);
  * its privileges on each granted database, exactly (read: SELECT; readwrite: data and schema
    changes on that database only);
  * no account of that naming scheme the grants do not list, no anonymous account, no root;
  * for each line of etc/job-access.txt (parameter jobAccess, docs/compute.md "Job certificates"),
    the owner's account at the worker node's address (`dc1/user/alice`@`10.78.2.14`), logging in only
    with that node's job certificate from its data center's site CA; dropped when its line goes.

It also evicts members whose certificate the platform no longer accepts (galera_guard.py: revoked,
not a Galera service certificate, or an address that is not a configured peer), and has mariadbd
read its TLS files again (FLUSH SSL) when the agent renews the service certificate or refreshes
the CRLs.

Statements replicate to every member (Galera TOI), so any member applying them serves the cluster;
every member applies the same grants (all data-center stacks carry the same ones).
"""
import hashlib
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galera_conf import ConfError, read_conf  # noqa: E402
from galera_guard import PeerGuard  # noqa: E402
from galera_peers import CRLS  # noqa: E402
from job_access import mariadb_job_account  # noqa: E402

MARIADB = "/usr/bin/mariadb"
PRIVILEGES = {
    "read": "SELECT, SHOW VIEW",
    "readwrite": "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, "
    "CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER",
}
# Accounts this program owns: named like an identity of a user certificate.
MANAGED = "^[a-z][a-z0-9-]*/user/"
POLL_S = 5


def log(msg):
    print(f"galera-access: {msg}", flush=True)


def sql_string(s):
    # Values are already restricted to [A-Za-z0-9 ./=_-] by galera_conf; quoting stays defensive.
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def account(identity):
    return f"{sql_string(identity)}@'%'"


class Db:
    def __init__(self, inst, user):
        self.cmd = [MARIADB, "--no-defaults", "--protocol=socket", f"--socket={inst}/run/mysqld.sock", f"--user={user}", "-N", "-B"]

    def run(self, sql):
        r = subprocess.run(self.cmd, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip()[-2000:])
        return [line.split("\t") for line in r.stdout.splitlines()]


def synced(db):
    try:
        rows = db.run("SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment';")
    except (RuntimeError, subprocess.TimeoutExpired):
        return False
    return bool(rows) and rows[0][-1] == "Synced"


def statements(conf, db):
    out = ["SET SESSION wsrep_OSU_method='TOI';"]
    wanted = {}
    for g in conf["grants"]:
        wanted.setdefault(g["identity"], []).append(g)
    existing = {r[0] for r in db.run(f"SELECT User FROM mysql.global_priv WHERE Host='%' AND User REGEXP '{MANAGED}';")}
    for stale in sorted(existing - set(wanted)):
        out.append(f"DROP USER IF EXISTS {account(stale)};")
    for u, h in db.run("SELECT User, Host FROM mysql.global_priv WHERE User='' OR User='root';"):
        out.append(f"DROP USER IF EXISTS {sql_string(u)}@{sql_string(h)};")
    out += job_statements(conf, db)
    for identity, grants in sorted(wanted.items()):
        g0 = grants[0]
        require = f"REQUIRE SUBJECT {sql_string('/CN=' + g0['name'])} AND ISSUER {sql_string(conf['user-issuers'][g0['dc']])}"
        out.append(f"CREATE USER IF NOT EXISTS {account(identity)} {require};")
        out.append(f"ALTER USER {account(identity)} {require};")
        out.append(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account(identity)};")
        for g in grants:
            out.append(f"CREATE DATABASE IF NOT EXISTS `{g['database']}`;")
            out.append(f"GRANT {PRIVILEGES[g['access']]} ON `{g['database']}`.* TO {account(identity)};")
    return out


def job_statements(conf, db):
    """One account per (owner, worker node) of etc/job-access.txt: the owner's identity at the node's
    address, requiring that node's job subject and the worker data center's site CA, with the
    privileges of the grants it repeats. A job account no entry names (the node or the grant went) is
    dropped. The accounts replicate cluster-wide, so every member's stack must list the same clusters."""
    out, wanted = [], {}
    for e in conf["jobs"]:
        account, require = mariadb_job_account(e, conf["job-issuers"][e["worker_dc"]])
        wanted.setdefault((account, require), []).append(e)
    accounts = {a for a, _ in wanted}
    for user, host in db.run(f"SELECT User, Host FROM mysql.global_priv WHERE Host<>'%' AND User REGEXP '{MANAGED}';"):
        if f"{sql_string(user)}@{sql_string(host)}" not in accounts:
            out.append(f"DROP USER IF EXISTS {sql_string(user)}@{sql_string(host)};")
    for (account, require), entries in sorted(wanted.items()):
        out.append(f"CREATE USER IF NOT EXISTS {account} {require};")
        out.append(f"ALTER USER {account} {require};")
        out.append(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account};")
        for e in entries:
            out.append(f"CREATE DATABASE IF NOT EXISTS `{e['database']}`;")
            out.append(f"GRANT {PRIVILEGES[e['access']]} ON `{e['database']}`.* TO {account};")
    return out


def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def main():
    if len(sys.argv) != 2 or os.getuid() == 0:
        log("usage: galera-access.py <instance dir>, as the partition user")
        sys.exit(2)
    inst = os.path.abspath(sys.argv[1])
    conf_paths = [os.path.join(inst, "etc", f) for f in ("galera.conf", "access.txt", "job-access.txt")]
    db = Db(inst, pwd.getpwuid(os.getuid()).pw_name)
    applied = None
    guard = PeerGuard(inst, log)
    tls_files = [os.path.join(inst, "tls", f) for f in ("cert.pem", "key.pem", "chain.pem", "crls.pem")]
    tls_files.append(os.path.join(inst, "run", CRLS))  # mariadbd's ssl_crl, kept by the guard's keeper
    tls_seen = [digest(f) for f in tls_files]
    while True:
        tls_now = [digest(f) for f in tls_files]
        if tls_now != tls_seen:
            # A renewed certificate or a newer CRL: mariadbd reads its TLS files again.
            try:
                db.run("FLUSH SSL;")
                tls_seen = tls_now
                log("TLS certificate or CRLs changed: FLUSH SSL done")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"FLUSH SSL failed, retried in {POLL_S} s: {e}")
        is_synced = synced(db)
        if is_synced:
            try:
                guard.check(read_conf(inst), db)
            except (ConfError, OSError, ValueError, RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"checking the members' certificates failed, retried in {POLL_S} s: {e}")
        current = [digest(f) for f in conf_paths]
        if current != applied and is_synced:
            try:
                conf = read_conf(inst)
                sql = statements(conf, db)
                db.run("\n".join(sql) + "\n")
                applied = current
                log(f"grants applied: {len(conf['grants'])} grant(s) for {len({g['identity'] for g in conf['grants']})} identit(ies), "
                    f"{len(conf['jobs'])} job line(s)")
            except ConfError as e:
                log(f"configuration refused: {e}")
                applied = current
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"applying grants failed, retried in {POLL_S} s: {e}")
        time.sleep(POLL_S)


if __name__ == "__main__":
    main()
