"""A user's job on a Dask cluster, as a user's client kit runs it (tests and bench of compute).

  dask_job.py SCHEDULER CA CERT KEY [--timeout S]

SCHEDULER is tls://host:port (or tcp://... for the bench's plain baseline, then no files are used).
Trains a logistic regression with numpy on a fixed synthetic data set (seeded, two classes in 8
dimensions): each gradient step is computed chunk by chunk on the workers, round-robin, and summed
here; then the workers score the held-out chunk. Prints one JSON line: the score, the score of the
same computation done locally (must be equal), the workers and which worker ran which chunk.
Exit 3 when the scheduler refuses the connection (the line then says why).
"""
import json
import sys
import time

import numpy as np
from distributed import Client
from distributed.security import Security

CHUNKS = 4
STEPS = 25
RATE = 0.5


def data():
    rng = np.random.default_rng(12)
    n, d = 2400, 8
    y = rng.integers(0, 2, n)
    x = rng.normal(0.0, 1.0, (n, d)) + np.outer(y * 2 - 1, np.linspace(0.2, 0.9, d))
    return x[:2000], y[:2000], x[2000:], y[2000:]


def gradient(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return x.T @ (p - y)


def correct(w, x, y):
    return int(((x @ w > 0).astype(int) == y).sum())


def train(grad_of, x, y):
    w = np.zeros(x.shape[1])
    for _ in range(STEPS):
        w = w - RATE * grad_of(w) / len(y)
    return w


def main(argv):
    scheduler = argv[0]
    timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 20.0
    x, y, xt, yt = data()
    chunks = list(zip(np.array_split(x, CHUNKS), np.array_split(y, CHUNKS)))
    local = train(lambda w: sum(gradient(w, cx, cy) for cx, cy in chunks), x, y)
    reference = correct(local, xt, yt) / len(yt)
    security = None
    if scheduler.startswith("tls://"):
        ca, cert, key = argv[1:4]
        security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
    started = time.monotonic()
    try:
        client = Client(scheduler, security=security, timeout=timeout)
    except Exception as e:  # the refusal is the answer, whatever Dask wraps it in
        print(json.dumps({"refused": True, "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
        return 3
    with client:
        workers = sorted(client.scheduler_info()["workers"])
        ran_on = set()

        def grad_of(w):
            futures = [
                client.submit(gradient, w, cx, cy, workers=[workers[i % len(workers)]], pure=False)
                for i, (cx, cy) in enumerate(chunks)
            ]
            ran_on.update(workers[i % len(workers)] for i in range(len(futures)))
            return sum(client.gather(futures))

        w = train(grad_of, x, y)
        score = client.submit(correct, w, xt, yt, workers=[workers[-1]]).result() / len(yt)
    print(
        json.dumps(
            {
                "score": score,
                "reference": reference,
                "workers": workers,
                "ranOn": sorted(ran_on),
                "seconds": round(time.monotonic() - started, 3),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
