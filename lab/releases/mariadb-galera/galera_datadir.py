"""mariadb-galera: this member's data directory, for galera-start.py.

What is on disk decides how the member starts: grastate.dat (Galera's last committed position and
whether it may bootstrap), after a crash the position InnoDB recovers (`mariadbd --wsrep-recover`),
the InnoDB file key (made here, 0600, never printed) and a fresh data directory from
mariadb-install-db. A directory that is not this user's own is refused (DataDirRefused); the start
script reports it and exits.
"""
import os
import re
import secrets
import stat
import subprocess

from galera_recovery import POSITION

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
NIL_UUID = "00000000-0000-0000-0000-000000000000"
KEY_DIR = "zr-keys"  # inside the data directory, so that state transfer carries it (docs/datastores.md)
# The same at-rest settings my.cnf carries: the system tables made by install-db are encrypted too.
ENCRYPTION_ARGS = [
    "--plugin-load-add=file_key_management",
    "--file-key-management-encryption-algorithm=AES_CTR",
    "--innodb-encrypt-tables=FORCE",
    "--innodb-encrypt-log=ON",
    "--innodb-encrypt-temporary-tables=ON",
    "--encrypt-tmp-files=ON",
    "--aria-encrypt-tables=ON",
]


class DataDirRefused(Exception):
    """A directory or install step this member must not go on with; the message says why."""


def private_dir(path):
    """A directory only this user can enter; refuses a symlink or someone else's directory (e.g. in /tmp)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise DataDirRefused(
            f"{path} is not a directory of uid {os.getuid()} (a symlink or another user's); refusing to use it"
        )
    os.chmod(path, 0o700)


def grastate(data):
    out = {"safe_to_bootstrap": 0, "seqno": None, "uuid": None}
    try:
        with open(os.path.join(data, "grastate.dat"), encoding="ascii", errors="replace") as f:
            text = f.read(4096)
    except FileNotFoundError:
        return out
    m = re.search(r"^safe_to_bootstrap:\s*(\d)\s*$", text, re.M)
    out["safe_to_bootstrap"] = int(m.group(1)) if m else 0
    m = re.search(r"^seqno:\s*(-?\d+)\s*$", text, re.M)
    out["seqno"] = int(m.group(1)) if m else None
    m = re.search(r"^uuid:\s*([0-9a-f-]{36})\s*$", text, re.M)
    out["uuid"] = m.group(1) if m else None
    return out


def allow_bootstrap(data):
    """mariadbd refuses --wsrep-new-cluster unless grastate.dat says safe_to_bootstrap: 1; the decision says so now."""
    path = os.path.join(data, "grastate.dat")
    with open(path, encoding="ascii") as f:
        text = f.read(4096)
    text = re.sub(r"^safe_to_bootstrap:.*$", "safe_to_bootstrap: 1", text, flags=re.M)
    with open(path + ".new", "w", encoding="ascii") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".new", path)


def make_key(data):
    """The InnoDB file key: 32 random bytes as file_key_management reads them, 0600, never printed."""
    d = os.path.join(data, KEY_DIR)
    private_dir(d)
    path = os.path.join(d, "innodb.key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as f:
        f.write("1;" + secrets.token_hex(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path


def install(inst, data, user, log):
    """mariadb-install-db into a fresh directory, renamed into place only when complete."""
    work = data + ".new"
    subprocess.run(["/usr/bin/rm", "-rf", "--", work], check=True)
    os.mkdir(work, 0o700)
    key = make_key(work)
    # --skip-test-db: without it install-db creates anonymous ''@localhost accounts, and then
    # another user's certificate and even no certificate log in (LAB-NOTES). The partition user is
    # the only administrator, through the unix socket (no password exists anywhere).
    cmd = [
        INSTALL_DB,
        "--no-defaults",
        "--skip-test-db",
        f"--datadir={work}",
        f"--auth-root-socket-user={user}",
        "--auth-root-authentication-method=socket",
        f"--file-key-management-filename={key}",
        "--innodb-buffer-pool-size=32M",
        *ENCRYPTION_ARGS,
    ]
    log("mariadb-install-db --no-defaults --skip-test-db (encrypted system tables)")
    r = subprocess.run(cmd, cwd=inst, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise DataDirRefused(f"mariadb-install-db failed ({r.returncode}):\n{r.stdout[-4000:]}")
    os.rename(work, data)


def recovered_position(inst, log):
    """After a crash (seqno -1): the position InnoDB holds, so the member can ask for IST, not SST."""
    out = os.path.join(inst, "run", "recover.log")
    r = subprocess.run(
        [MARIADBD, f"--defaults-file={inst}/etc/my.cnf", "--wsrep-recover", f"--log-error={out}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        os.unlink(out)
    except FileNotFoundError:
        text = ""
    m = re.search(r"WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)", text)
    if r.returncode == 0 and m:
        return m.group(1)
    log("position recovery found nothing; a full state transfer follows")
    return None


def own_position(inst, data, log):
    """This member's report and, after a crash, the position to start from (so it asks for IST, not SST)."""
    gs = grastate(data)
    if gs["uuid"] and gs["seqno"] is not None and gs["seqno"] >= 0:
        return {"state": POSITION, "uuid": gs["uuid"], "seqno": gs["seqno"]}, None
    recovered = recovered_position(inst, log)  # seqno -1 in grastate.dat: a crash; InnoDB knows
    if recovered:
        uuid, _, seqno = recovered.rpartition(":")
        if uuid != NIL_UUID and int(seqno) >= 0:
            return {"state": POSITION, "uuid": uuid, "seqno": int(seqno)}, recovered
    return {"state": POSITION, "uuid": gs["uuid"] or NIL_UUID, "seqno": -1}, None
