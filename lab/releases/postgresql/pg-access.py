"""Keeps one PostgreSQL instance of the zeroroot release in line with its parameters, as the
partition user: the hierarchy's CRLs (fetched from the sites, reloaded when they change), pg_hba and
pg_ident (certificate CN -> role; job certificates from etc/job-access.txt), and on a primary the roles, databases and grants of etc/access.txt.

argv: primary|replica <port>
SQL goes over the unix socket as the partition user (peer authentication, the instance's superuser);
names are checked by pg_common and always quoted, so a parameter cannot inject SQL.
"""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pg_common as pg  # noqa: E402

INTERVAL_SECONDS = 30
mode, port = sys.argv[1], sys.argv[2]


def q(name):
    return '"' + name.replace('"', '""') + '"'


def psql(sql, database="postgres"):
    r = subprocess.run(
        [f"{pg.BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", pg.RUN, "-p", port,
         "-U", pg.USER, "-d", database, "-f", "-"],
        input=sql, capture_output=True, text=True, timeout=60,
    )
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[:500])
    return r.stdout


def ensure_role(name, options):
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
            f"CREATE ROLE {q(name)} {options}; END IF; END $$;\n")


def apply_access():
    """Roles per user, two group roles per database (<db>_read, <db>_readwrite), memberships as listed."""
    rows = pg.access()
    sql = ensure_role("replicator", "LOGIN REPLICATION")
    databases = sorted({db for db, _, _, _ in rows})
    for name in sorted({n for _, _, n, _ in rows}):
        sql += ensure_role(name, "LOGIN")
    for db in databases:
        sql += ensure_role(f"{db}_read", "NOLOGIN") + ensure_role(f"{db}_readwrite", "NOLOGIN")
    psql(sql)
    existing = set(psql("SELECT datname FROM pg_database").split())
    for db in databases:
        if db not in existing:
            psql(f"CREATE DATABASE {q(db)}")
        granted = {n: a for d, _, n, a in rows if d == db}
        sql = f"REVOKE ALL ON DATABASE {q(db)} FROM PUBLIC;\n"
        sql += f"GRANT CONNECT ON DATABASE {q(db)} TO {q(db + '_read')}, {q(db + '_readwrite')};\n"
        sql += "REVOKE ALL ON SCHEMA public FROM PUBLIC;\n"
        sql += f"GRANT USAGE ON SCHEMA public TO {q(db + '_read')}, {q(db + '_readwrite')};\n"
        sql += f"GRANT CREATE ON SCHEMA public TO {q(db + '_readwrite')};\n"
        sql += f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {q(db + '_read')};\n"
        sql += f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q(db + '_readwrite')};\n"
        for group in ("read", "readwrite"):
            role = f"{db}_{group}"
            members = psql(
                f"SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
                f"JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = '{role}'"
            ).split()
            for member in members:
                if granted.get(member) != group:
                    sql += f"REVOKE {q(role)} FROM {q(member)};\n"
            for name, level in granted.items():
                if level == group:
                    sql += f"GRANT {q(role)} TO {q(name)};\n"
        for name, level in granted.items():
            if level == "readwrite":
                # tables a writer makes are readable by the data set's readers and writable by its writers
                sql += (f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(name)} IN SCHEMA public GRANT SELECT ON TABLES TO {q(db + '_read')};\n"
                        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(name)} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q(db + '_readwrite')};\n")
        psql(sql, database=db)
    pg.log(f"access applied: {len(rows)} grant(s) on {len(databases)} database(s)")


def reload():
    subprocess.run([f"{pg.BIN}/pg_ctl", "reload", "-s", "-D", pg.DATA], check=False)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def wait_ready():
    ready = [f"{pg.BIN}/pg_isready", "-q", "-h", pg.RUN, "-p", port, "-d", "postgres"]
    while subprocess.run(ready).returncode != 0:
        time.sleep(2)


wait_ready()
applied = served = None
while True:
    try:
        changed = pg.refresh_crls()
        # the agent renews the service certificate before it expires: PostgreSQL takes it on reload
        certificate = digest(os.path.join(pg.TLS, "cert.pem"))
        if certificate != served:
            if served is not None:
                pg.prepare_tls()
                changed = True
            served = certificate
        now = "".join(digest(os.path.join(pg.ETC, f)) for f in ("access.txt", "replication.txt", "job-access.txt"))
        if now != applied:
            pg.render_configs(port)
            if mode == "primary":
                apply_access()
            applied, changed = now, True
        if changed:
            reload()
    except (RuntimeError, OSError, ValueError, SystemExit, subprocess.SubprocessError) as e:
        pg.log(f"not applied: {e}; retrying in {INTERVAL_SECONDS} s")
    time.sleep(INTERVAL_SECONDS)
