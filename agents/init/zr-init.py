#!/usr/bin/python3 -I
"""zeroroot's PID 1 for the hardened image.

Mounts what a booted system needs, applies the sysctl settings (best effort) and the nftables
ruleset (fail closed: without a firewall no service starts), then starts one supervisord per
platform user, each as that user with no capabilities and no new privileges (setpriv). It reaps
every child (orphans included), restarts a supervisord that dies, and on SIGTERM or SIGINT stops
the supervisords, kills what is left in its PID namespace and exits 0.

Reads /etc/zeroroot/init.json (rendered by lib/hardening renderInitConfig). Logs to stderr,
which is the machine's console.
"""
import json
import os
import signal
import subprocess
import sys
import time

CONFIG = "/etc/zeroroot/init.json"
SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
NFT_LIST_SECONDS = 10
NFT_LISTING_MAX_BYTES = 1_000_000


def log(msg):
    print(f"zr-init[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def mount(fstype, target, options):
    if os.path.ismount(target):
        return
    os.makedirs(target, exist_ok=True)
    result = subprocess.run(["/bin/mount", "-t", fstype, "-o", options, fstype, target], capture_output=True, text=True)
    if result.returncode != 0:
        log(f"mount {fstype} on {target} failed: {result.stderr.strip()}")


def mount_basics():
    mount("proc", "/proc", "nosuid,nodev,noexec")
    mount("sysfs", "/sys", "nosuid,nodev,noexec,ro")
    if not os.path.exists("/dev/null"):
        mount("devtmpfs", "/dev", "nosuid,mode=0755")
    mount("tmpfs", "/run", "nosuid,nodev,mode=0755")
    mount("tmpfs", "/tmp", "nosuid,nodev,mode=1777")


def apply_sysctl(path):
    applied, skipped = 0, []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        log(f"sysctl: cannot read {path}: {e.strerror}")
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as f:
                f.write(value)
            applied += 1
        except OSError as e:
            skipped.append(f"{key} ({e.strerror})")
    log(f"sysctl: {applied} applied" + (f", {len(skipped)} skipped: {', '.join(skipped)}" if skipped else ""))


def apply_firewall(path):
    result = subprocess.run(["/usr/sbin/nft", "-f", path], capture_output=True, text=True)
    if result.returncode != 0:
        return f"nft -f {path} failed: {result.stderr.strip()}"
    log(f"firewall: {path} applied")
    return None


def spawn(sup):
    """fork + exec setpriv -> supervisord as the platform user, with a clean signal mask."""
    argv = [
        "/usr/bin/setpriv",
        f"--reuid={sup['uid']}",
        f"--regid={sup['gid']}",
        "--init-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        "/usr/bin/supervisord",
        "--nodaemon",
        "--configuration",
        sup["config"],
    ]
    env = {
        "HOME": sup["home"],
        "USER": sup["user"],
        "LOGNAME": sup["user"],
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    pid = os.fork()
    if pid == 0:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(s, signal.SIG_DFL)
            os.setsid()
            os.chdir(sup["home"])
            devnull = os.open("/dev/null", os.O_RDONLY)
            os.dup2(devnull, 0)
            os.execve(argv[0], argv, env)
        except BaseException as e:  # noqa: BLE001 - the child must never return into PID 1's loop
            print(f"zr-init: exec for {sup['user']} failed: {e}", file=sys.stderr, flush=True)
        finally:
            os._exit(127)
    log(f"started supervisord of {sup['user']} (uid {sup['uid']}) as pid {pid}")
    return pid


def list_ruleset(run_dir, name):
    """Writes the live ruleset as `nft -j list ruleset` prints it to run_dir/name (0644, atomically).

    The node agent is unprivileged and cannot list nftables; drift detection compares this listing
    with the one written right after the image's ruleset was applied (nftables.applied.json)."""
    try:
        result = subprocess.run(["/usr/sbin/nft", "-j", "list", "ruleset"], capture_output=True, timeout=10)
        if result.returncode != 0:
            log(f"nft -j list ruleset failed: {result.stderr.decode(errors='replace').strip()[:200]}")
            return
        os.makedirs(run_dir, exist_ok=True)
        tmp = os.path.join(run_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(result.stdout[:NFT_LISTING_MAX_BYTES])
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(run_dir, name))
    except (OSError, subprocess.SubprocessError) as e:  # PID 1 must outlive a failed listing
        log(f"listing the ruleset failed: {e}")


def write_marker(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)


def reap(running):
    """Reaps every exited child; returns the supervisors (by user) that exited."""
    exited = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return exited
        if pid == 0:
            return exited
        for user, p in list(running.items()):
            if p == pid:
                log(f"supervisord of {user} (pid {pid}) exited with status {os.waitstatus_to_exitcode(status)}")
                del running[user]
                exited.append(user)


def stop(running, timeout):
    for user, pid in running.items():
        log(f"stopping supervisord of {user} (pid {pid})")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        signal.sigtimedwait({signal.SIGCHLD}, 0.2)
        reap(running)
    if running:
        log(f"supervisords still running after {timeout}s: {sorted(running)}; killing")
    try:
        os.kill(-1, signal.SIGKILL)  # in a PID namespace: everything but PID 1
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def main():
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    # A handler (not SIG_DFL) so that signals sent from outside the PID namespace are delivered.
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: None)
    mount_basics()
    config = json.load(open(CONFIG, encoding="utf-8"))
    apply_sysctl(config["sysctl"])
    failure = apply_firewall(config["nftables"])
    running, backoff, due = {}, {}, {}
    if failure:
        log(f"{failure}; starting no service (fail closed)")
        write_marker(config["readyMarker"].rsplit("/", 1)[0] + "/failed", failure + "\n")
    else:
        for sup in config["supervisors"]:
            running[sup["user"]] = spawn(sup)
        write_marker(config["readyMarker"], json.dumps({"supervisors": running}) + "\n")
        log("ready")
    run_dir = config["readyMarker"].rsplit("/", 1)[0]
    if not failure:
        list_ruleset(run_dir, "nftables.applied.json")
    next_list = time.monotonic()
    by_user = {s["user"]: s for s in config["supervisors"]}
    while True:
        now = time.monotonic()
        if now >= next_list:
            list_ruleset(run_dir, "nftables.json")
            next_list = now + NFT_LIST_SECONDS
        timeout = max(0.05, min([due[u] - now for u in due] + [5.0]))
        info = signal.sigtimedwait(SIGNALS, timeout)
        if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
            log(f"signal {signal.Signals(info.si_signo).name}: shutting down")
            stop(running, config.get("stopTimeoutSeconds", 15))
            log("stopped")
            return 0
        for user in reap(running):
            backoff[user] = min(backoff.get(user, 0.5) * 2, 30.0)
            due[user] = time.monotonic() + backoff[user]
            log(f"restarting supervisord of {user} in {backoff[user]:.0f}s")
        for user in [u for u, t in due.items() if t <= time.monotonic()]:
            del due[user]
            running[user] = spawn(by_user[user])


if __name__ == "__main__":
    sys.exit(main())
