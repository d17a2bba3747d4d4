#!/usr/bin/python3 -I
"""zeroroot's PID 1 for the hardened image.

Mounts what a booted system needs, applies the sysctl settings (best effort) and the nftables
ruleset (fail closed: without a firewall no service starts), then starts one supervisord per
platform user, each as that user with no capabilities and no new privileges (setpriv). It reaps
every child (orphans included), restarts a supervisord that dies, and on SIGTERM or SIGINT stops
the supervisords, kills what is left in its PID namespace and exits 0.

A supervisor marked onDemand (a partition's) is not started at boot: the node agent, which has no
privilege, asks for it over PID 1's request socket while the partition holds an instance and asks
for its stop once the partition is empty (init_requests.py: one request per connection, from the
agent's uid only, a known on-demand partition only, at a bounded rate). The agent also asks for a
partition's egress rules, which PID 1 re-validates before it loads them (init_egress.py).

Reads /etc/zeroroot/init.json (rendered by lib/hardening renderInitConfig), or the file given as
its one argument (tests). Logs to stderr, which is the machine's console.
"""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

# init_requests.py ships next to this file in the repository and in /usr/local/lib/zeroroot in the image
# (python3 -I puts neither directory on the path by itself).
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:0] = [HERE, "/usr/local/lib/zeroroot"]
from init_egress import Egress  # noqa: E402
from init_requests import RequestServer  # noqa: E402

# A stand-in for the pkg_resources supervisord imports (pyshim/pkg_resources.py says why): ~7 MB
# and half the start-up CPU of each supervisord. Without it, supervisord loads setuptools' own.
PYSHIM = next(
    (d for d in (os.path.join(HERE, "pyshim"), "/usr/local/lib/zeroroot/pyshim")
     if os.path.isfile(os.path.join(d, "pkg_resources.py"))),
    None,
)

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
        # A partition's processes keep only the partition's own group (its users are in no other);
        # a platform user's supervisord gets its groups from /etc/group (zr-agent: the partitions').
        "--clear-groups" if sup.get("onDemand") else "--init-groups",
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
        **({"PYTHONPATH": PYSHIM} if PYSHIM else {}),
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


class Supervisors:
    """Which supervisords should run (`wanted`), which do (`running`), and restarts with back-off."""

    def __init__(self, config):
        self.by_user = {s["user"]: s for s in config["supervisors"]}
        self.on_demand = frozenset(u for u, s in self.by_user.items() if s.get("onDemand"))
        self.wanted = {u for u in self.by_user if u not in self.on_demand}
        self.running, self.backoff, self.due = {}, {}, {}

    def start_wanted(self):
        for user in sorted(self.wanted):
            self.running[user] = spawn(self.by_user[user])

    def handle(self, op, user):
        """A validated request of the agent (init_requests.RequestServer); returns the answer."""
        if op == "list":
            return "running " + " ".join(sorted(u for u in self.running if u in self.on_demand))
        if op == "start":
            self.wanted.add(user)
            if user in self.running:
                return f"running {user} pid {self.running[user]}"
            if user in self.due:
                return f"restarting {user} in {max(0.0, self.due[user] - time.monotonic()):.0f}s"
            self.running[user] = spawn(self.by_user[user])
            return f"started {user} pid {self.running[user]}"
        self.wanted.discard(user)
        self.due.pop(user, None)
        self.backoff.pop(user, None)
        pid = self.running.get(user)
        if pid is None:
            return f"not running {user}"
        log(f"stopping supervisord of {user} (pid {pid}): its partition is empty")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        return f"stopping {user} pid {pid}"

    def reap_and_restart(self):
        for user in reap(self.running):
            if user not in self.wanted:
                continue
            self.backoff[user] = min(self.backoff.get(user, 0.5) * 2, 30.0)
            self.due[user] = time.monotonic() + self.backoff[user]
            log(f"restarting supervisord of {user} in {self.backoff[user]:.0f}s")
        for user in [u for u, t in self.due.items() if t <= time.monotonic()]:
            del self.due[user]
            self.running[user] = spawn(self.by_user[user])


def requests_handler(config, sups):
    """The agent's requests: a partition's supervisord (Supervisors.handle) or its egress rules
    (init_egress.py, when init.json has `egress`). After an egress change both listings are taken
    again, so drift compares the live ruleset with what PID 1 itself loaded."""
    run_dir = config["readyMarker"].rsplit("/", 1)[0]
    egress = None
    if config.get("egress"):
        egress = Egress(
            config["egress"],
            config["requests"]["uid"],
            lambda user: sups.by_user[user]["uid"],
            log,
            lambda: [list_ruleset(run_dir, n) for n in ("nftables.applied.json", "nftables.json")],
        )

    def handle(op, user):
        if op in ("egress", "egress-clear"):
            if egress is None:
                raise ValueError("this image's PID 1 has no egress configuration (init.json egress)")
            return egress.handle(op, user)
        if op == "start" and egress is not None and egress.has_rules(user):
            # After a reboot the partition's programs start with its supervisord, before the agent
            # asks again: the rules the agent left are loaded first, and a start is refused without them.
            egress.handle("egress", user)
        return sups.handle(op, user)

    return handle


def wakeup_pipe(sel):
    """Signals wake the loop through a pipe (signal.set_wakeup_fd), next to the request socket."""
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    for s in SIGNALS:
        # A handler (not SIG_DFL) so that signals sent from outside the PID namespace are delivered.
        signal.signal(s, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    sel.register(rfd, selectors.EVENT_READ, "signal")
    return rfd


def main(argv):
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    mount_basics()
    config = json.load(open(argv[1] if len(argv) > 1 else CONFIG, encoding="utf-8"))
    apply_sysctl(config["sysctl"])
    failure = apply_firewall(config["nftables"])
    sups = Supervisors(config)
    sel = selectors.DefaultSelector()
    signal_fd = wakeup_pipe(sel)
    requests = None
    if failure:
        log(f"{failure}; starting no service (fail closed)")
        write_marker(config["readyMarker"].rsplit("/", 1)[0] + "/failed", failure + "\n")
    else:
        sups.start_wanted()
        if config.get("requests"):
            handle = requests_handler(config, sups)
            requests = RequestServer(config["requests"], sups.on_demand, handle, log)
            requests.register(sel)
        write_marker(config["readyMarker"], json.dumps({"supervisors": sups.running}) + "\n")
        log(f"ready ({len(sups.on_demand)} partition supervisords on demand)")
    run_dir = config["readyMarker"].rsplit("/", 1)[0]
    if not failure:
        list_ruleset(run_dir, "nftables.applied.json")
    next_list = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_list:
            list_ruleset(run_dir, "nftables.json")
            next_list = now + NFT_LIST_SECONDS
        deadlines = [t - now for t in sups.due.values()] + [next_list - now]
        if requests and requests.next_deadline() is not None:
            deadlines.append(requests.next_deadline() - now)
        got = set()
        for key, _ in sel.select(max(0.05, min(deadlines))):
            if key.data == "signal":
                try:
                    got.update(os.read(signal_fd, 512))
                except BlockingIOError:
                    pass
            else:
                requests.on_event(key)
        if requests:
            requests.expire()
        if got & {signal.SIGTERM, signal.SIGINT}:
            log(f"signal {signal.Signals(max(got & {signal.SIGTERM, signal.SIGINT})).name}: shutting down")
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # stop() waits for SIGCHLD itself
            if requests:
                requests.close()
            stop(sups.running, config.get("stopTimeoutSeconds", 15))
            log("stopped")
            return 0
        sups.reap_and_restart()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
