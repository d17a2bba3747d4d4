"""Clears PostgreSQL's lock files left behind by a power cut, before the server starts.

Why: a node's processes live in their own PID namespace, so after a reboot the same few PIDs are
handed out again. PostgreSQL refuses to start while the PID written in postmaster.pid (or in a
socket's .lock file) belongs to a live process of its own user; pg-access.py runs as the same
partition user and often gets the PID the last postmaster had. The server then stays down, with a
stale socket that refuses connections, until someone deletes the file by hand.

A postmaster and every one of its backends keep the data directory as their working directory, so
"no process of ours works in the data directory" is the proof that no server of this data
directory runs, whatever PIDs the lock files name. Only then are the lock files removed; a live
server's files are never touched.
"""
import glob
import os


def live_server_pids(data):
    """PIDs of the processes this user can see whose working directory is `data`."""
    want = os.path.realpath(data)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == want:
                pids.append(int(entry))
        except OSError:
            # gone meanwhile, or another user's process: neither can be a server of our data
            continue
    return pids


def clear_stale_locks(data, run, log):
    """Removes postmaster.pid in `data` and the socket locks in `run` when no server of `data`
    runs. Returns the paths removed (empty when a server runs or nothing was left behind)."""
    locks = [p for p in [os.path.join(data, "postmaster.pid")] + glob.glob(os.path.join(run, ".s.PGSQL.*.lock"))
             if os.path.lexists(p)]
    if not locks:
        return []
    running = live_server_pids(data)
    if running:
        log(f"lock files kept: processes {running} work in the data directory")
        return []
    for p in locks:
        os.unlink(p)
    log(f"removed lock files left by a server that no longer runs: {', '.join(os.path.basename(p) for p in locks)}")
    return locks
