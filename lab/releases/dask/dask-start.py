"""Starts one process of a user's Dask cluster (docs/compute.md) as the partition user: checks its
arguments, lays out the instance's TLS files for Dask, and execs the Debian `dask scheduler` or
`dask worker` with tls:// comms, require-encryption, TLS 1.3, no dashboard (and an HTTP server with
no routes on a random loopback port) and the owner-only guard
(owner_guard.py) preloaded. Runs under supervisord, which restarts it (so workers run without a
nanny: one process per partition, one listening port each).

Arguments (from the instance's parameters, lib/compute/cluster-services.ts):
  role instance-dir owner cluster data-centers domain listen-address port scheduler-address scheduler-port
"""
import ipaddress
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?\n-----END CERTIFICATE-----\n?", re.S)


def fail(msg):
    print(f"zeroroot dask: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def check(value, pattern, what):
    if not re.fullmatch(pattern, value):
        fail(f"{what} {value[:80]!r} is malformed")
    return value


def address(value, what):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        fail(f"{what} {value[:80]!r} is not an IP address")


def port(value, what):
    check(value, r"[0-9]{4,5}", what)
    if not 1024 <= int(value) <= 65535:
        fail(f"{what} {value} is outside 1024-65535")
    return int(value)


def url(addr, p):
    host = f"[{addr}]" if addr.version == 6 else str(addr)
    return f"tls://{host}:{p}"


def write_atomic(path, text, mode):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def tls_files(instance):
    """leaf + issuing CA (what peers need to build the chain) and the root alone (the trust anchor)."""
    tls = os.path.join(instance, "tls")
    try:
        leaf = open(os.path.join(tls, "cert.pem")).read()
        chain = PEM.findall(open(os.path.join(tls, "chain.pem")).read())
    except OSError as e:
        fail(f"no service certificate yet ({e.strerror}); the agent obtains it by CSR, supervisord retries")
    if len(chain) < 2:
        fail("tls/chain.pem must hold the issuing CA and the root")
    run = os.path.join(instance, "run")
    os.makedirs(run, mode=0o700, exist_ok=True)
    cert = os.path.join(run, "dask-cert.pem")
    root = os.path.join(run, "root.pem")
    write_atomic(cert, leaf.rstrip("\n") + "\n" + chain[0], 0o600)
    write_atomic(root, chain[-1], 0o644)
    return cert, os.path.join(tls, "key.pem"), root


def main(argv):
    if len(argv) != 10:
        fail(f"expected 10 arguments, got {len(argv)}: {__doc__.splitlines()[-1].strip()}")
    role, instance, owner, cluster, dcs, domain, listen, p, sched, sched_p = argv
    check(role, r"scheduler|worker", "role")
    check(instance, r"/[A-Za-z0-9._/-]+", "instance directory")
    check(owner, r"[a-z][a-z0-9-]*/user/[a-z0-9][a-z0-9._-]*", "owner")
    check(cluster, r"[a-z][a-z0-9-]{0,62}", "cluster")
    check(dcs, r"[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*){0,7}", "data centers")
    check(domain, r"[a-z0-9.-]+", "domain")
    own = url(address(listen, "listen address"), port(p, "port"))
    scheduler = url(address(sched, "scheduler address"), port(sched_p, "scheduler port"))
    cert, key, root = tls_files(instance)
    work = os.path.join(instance, "work")
    os.makedirs(work, mode=0o700, exist_ok=True)
    env = {
        "HOME": os.environ.get("HOME", instance),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "ZR_DASK_OWNER": owner,
        "ZR_DASK_CLUSTER": cluster,
        "ZR_DASK_DATA_CENTERS": dcs,
        "ZR_DASK_DOMAIN": domain,
        # tasks find their job socket and private directory here, and `import zr_job` from the
        # release (zr_job.py): paths only, no secret is ever in this environment
        "ZR_INSTANCE_DIR": instance,
        "PYTHONPATH": HERE,
        # every comm of this process is TLS; a tcp:// address is refused, not used in the clear
        "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
        "DASK_DISTRIBUTED__COMM__TLS__MIN_VERSION": "1.3",
        "DASK_TEMPORARY_DIRECTORY": work,
        # Dask's HTTP server is plain HTTP for anyone who reaches it: no routes, on a random loopback
        # port (never one of the compute ports the image opens)
        "DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES": "[]",
        "DASK_DISTRIBUTED__WORKER__HTTP__ROUTES": "[]",
    }
    tls = ["--tls-ca-file", root, "--tls-cert", cert, "--tls-key", key]
    guard = ["--preload", os.path.join(HERE, "owner_guard.py")]
    if role == "scheduler":
        args = ["-m", "distributed.cli.dask_scheduler", "--protocol", "tls", "--host", listen, "--port", p]
        args += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0", *guard, *tls]
    else:
        args = ["-m", "distributed.cli.dask_worker", scheduler, "--no-nanny", "--nthreads", "1"]
        args += ["--listen-address", own, "--contact-address", own]
        args += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
        name = check(os.environ.get("ZR_INSTANCE", ""), r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", "instance name")
        args += ["--name", name, "--local-directory", work]
        args += [*guard, *tls]
    os.execve("/usr/bin/python3", ["/usr/bin/python3", *args], env)


if __name__ == "__main__":
    main(sys.argv[1:])
