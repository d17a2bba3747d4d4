"""Starts one PostgreSQL instance of the zeroroot release, as the partition user.

argv: primary|replica <port>
Idempotent: the data directory is made once (initdb for a primary, pg_basebackup from the primary
for a replica) into a temporary directory renamed into place, so a crash half-way leaves nothing
that looks initialised. Then the configuration is rendered again and this process becomes postgres
(exec), so supervisord supervises the server itself.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pg_common as pg  # noqa: E402
from pg_lock import clear_stale_locks  # noqa: E402

mode, port = sys.argv[1], sys.argv[2]
if mode not in ("primary", "replica") or not port.isdigit():
    raise SystemExit(f"usage: pg-start.py primary|replica <port> (got {sys.argv[1:]!r})")
os.umask(0o077)
pg.prepare_tls()
# First start: without the hierarchy's CRLs a revoked certificate would log in, so wait for them.
pg.refresh_crls()
while not pg.CRLS.answered:
    pg.log("no site answered for the CRLs yet; retrying in 5 s")
    time.sleep(5)
    pg.refresh_crls()
pg.render_configs(port)


def initialise():
    new = pg.DATA + ".new"
    shutil.rmtree(new, ignore_errors=True)
    if mode == "primary":
        # peer for the partition user on the unix socket, nothing else until pg_hba.conf is ours
        subprocess.run(
            [f"{pg.BIN}/initdb", "-D", new, "-U", pg.USER, "--auth-local=peer", "--auth-host=reject",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
            check=True,
        )
    else:
        (_, name, address, primary_port) = next(r for r in pg.replication() if r[0] == "primary")
        conninfo = " ".join([
            f"host={name}", f"hostaddr={address}", f"port={int(primary_port)}", "user=replicator",
            "sslmode=verify-full", f"sslcert={pg.RUN}/server.crt", f"sslkey={pg.RUN}/server.key",
            f"sslrootcert={pg.RUN}/root.crt", f"application_name={os.environ['ZR_INSTANCE']}",
        ])
        # -R writes primary_conninfo (the same certificate files) and standby.signal. --checkpoint=fast:
        # the default spread checkpoint paces the primary's writes over checkpoint_completion_target
        # of checkpoint_timeout, and a new replica waited 87 s for it in the lab, doing nothing.
        subprocess.run(
            [f"{pg.BIN}/pg_basebackup", "-D", new, "-R", "-X", "stream", "--checkpoint=fast", "-d", conninfo],
            check=True,
        )
    os.rename(new, pg.DATA)
    pg.log(f"data directory initialised as {mode}")


# A replica may start before its primary serves: keep trying here rather than exhaust supervisord's retries.
while not os.path.exists(os.path.join(pg.DATA, "PG_VERSION")):
    try:
        initialise()
    except subprocess.CalledProcessError as e:
        pg.log(f"initialising failed ({e}); retrying in 10 s")
        time.sleep(10)
# After a power cut the lock files name PIDs that this boot may have handed to other programs.
clear_stale_locks(pg.DATA, pg.RUN, pg.log)
os.execv(f"{pg.BIN}/postgres", [f"{pg.BIN}/postgres", "-D", pg.DATA, "-c", f"config_file={pg.RUN}/postgresql.conf"])
