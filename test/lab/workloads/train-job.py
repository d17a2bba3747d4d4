"""alice's end-to-end job for test/lab/workloads/train-job.test.ts (docs/compute.md, "A job end to end").

Run from outside the platform with her user certificate, through her Dask kit:
`python3 train-job.py <kit>/dask/clusters.json analytics [--by-address] < parameters.json`
(parameters on stdin, never on a command line). Every task opens the datastores with a job certificate its worker obtained for it
(zr_job: key made on the worker, CSR through the worker's agent), never with a password or token:

1. load: on dc1's worker, the iris data set (shipped with scikit-learn) into a new table of
   alice's `analytics` database on dc1's PostgreSQL primary;
2. fit: on each worker (dc1 and dc2), the half of the rows of its shard read from its own data
   center's PostgreSQL (dc1's primary, dc2's replica), a logistic regression fitted on it;
3. combine: on dc1's worker, the two models averaged into one, scored on the whole table, and the
   result written to alice's `shop` database on dc1's Galera member.

Prints one JSON line: what each step did (node, rows, its certificate) and the score.
"""
import json
import re
import sys
import time

from distributed import Client
from distributed.security import Security

COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def _pg(target, sql, params=None, many=None):
    import psycopg2
    import zr_job

    c = zr_job.current(600)
    conn = psycopg2.connect(host=target["host"], hostaddr=target["hostaddr"], port=target["port"],
                            dbname=target["db"], user=target["user"], sslmode="verify-full",
                            sslrootcert=c.ca, sslcert=c.cert, sslkey=c.key, connect_timeout=10)
    try:
        cur = conn.cursor()
        if many is not None:
            cur.executemany(sql, many)
        else:
            cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows, open(c.cert).read()
    finally:
        conn.close()


def load(target, table):
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    cols = ", ".join(f"{c} double precision NOT NULL" for c in COLUMNS)
    _pg(target, f"CREATE TABLE {table} (id integer PRIMARY KEY, {cols}, species integer NOT NULL)")
    rows = [(i, *map(float, x[i]), int(y[i])) for i in range(len(y))]
    _, cert = _pg(target, f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)", many=rows)
    return {"rows": len(rows), "cert": cert}


def _read(target, table, where=""):
    import numpy as np

    rows, cert = _pg(target, f"SELECT {', '.join(COLUMNS)}, species FROM {table} {where} ORDER BY id")
    a = np.array(rows, dtype=float).reshape(-1, len(COLUMNS) + 1)
    return a[:, :-1], a[:, -1].astype(int), cert


def fit(target, table, shard, shards, expect_rows):
    from sklearn.linear_model import LogisticRegression

    # a replica may not have the table yet: wait for the rows the load wrote (bounded)
    end = time.time() + 60
    while True:
        try:
            x, y, cert = _read(target, table, f"WHERE id % {int(shards)} = {int(shard)}")
            if len(y) == expect_rows:
                break
        except Exception as e:  # the table not replicated yet
            if "does not exist" not in str(e):
                raise
        if time.time() > end:
            raise RuntimeError(f"{table}: {expect_rows} rows of shard {shard} not readable within 60 s")
        time.sleep(1)
    m = LogisticRegression(max_iter=1000).fit(x, y)
    return {"rows": int(len(y)), "coef": m.coef_.tolist(), "intercept": m.intercept_.tolist(),
            "classes": m.classes_.tolist(), "cert": cert}


def combine(target, table, parts, galera, run):
    import numpy as np
    import pymysql
    import zr_job
    from sklearn.linear_model import LogisticRegression

    x, y, cert = _read(target, table)
    model = LogisticRegression()
    model.classes_ = np.array(parts[0]["classes"])
    model.coef_ = np.mean([p["coef"] for p in parts], axis=0)
    model.intercept_ = np.mean([p["intercept"] for p in parts], axis=0)
    score = float(model.score(x, y))
    # the reference: one model fitted on every row at once, here
    reference = float(LogisticRegression(max_iter=1000).fit(x, y).score(x, y))
    c = zr_job.current(600)
    conn = pymysql.connect(host=galera["host"], port=galera["port"], user=galera["user"], database=galera["db"],
                           ssl={"ca": c.ca, "cert": c.cert, "key": c.key, "check_hostname": False},
                           connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS model_runs (run VARCHAR(64) PRIMARY KEY, score DOUBLE NOT NULL,"
                        " trained_rows INT NOT NULL, model TEXT NOT NULL)")
            cur.execute("INSERT INTO model_runs VALUES (%s, %s, %s, %s)",
                        (run, score, sum(p["rows"] for p in parts),
                         json.dumps({"coef": model.coef_.tolist(), "intercept": model.intercept_.tolist()})))
            cur.execute("SELECT CURRENT_USER()")
            account = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return {"rows": int(len(y)), "score": score, "reference": reference, "account": account,
            "cert": cert, "galeraCert": open(c.cert).read()}


def main():
    # the user's kit (`zeroroot client kit --for dask`): her cluster's entry of clusters.json
    kit, name = sys.argv[1:3]
    by_address = "--by-address" in sys.argv[3:]  # no DNS for the data center's names here
    entry = next(e for e in json.load(open(kit)) if e["cluster"] == name)
    scheduler = entry["scheduler"]
    if by_address:
        scheduler = f"tls://{entry['address']}:{scheduler.rsplit(':', 1)[1]}"
    p = json.loads(sys.stdin.read())
    # names put into SQL: only the shapes the test makes
    if not re.fullmatch(r"iris_[0-9a-f]{16}", p["table"]) or not re.fullmatch(r"[0-9a-f]{16}", p["run"]):
        raise SystemExit(f"bad table or run name: {p['table']!r} {p['run']!r}")
    security = Security(**entry["security"])
    on = lambda w: {"workers": [w], "allow_other_workers": False, "pure": False}
    with Client(scheduler, security=security, timeout=30) as client:
        table, dc1, dc2 = p["table"], p["workers"]["dc1"], p["workers"]["dc2"]
        loaded = client.submit(load, p["pg"]["dc1"], table, **on(dc1)).result()
        half = loaded["rows"] // 2
        fits = [client.submit(fit, p["pg"][dc], table, k, 2, half, **on(p["workers"][dc]))
                for k, dc in enumerate(("dc1", "dc2"))]
        parts = client.gather(fits)
        combined = client.submit(combine, p["pg"]["dc1"], table, parts, p["galera"], p["run"], **on(dc1)).result()
    print(json.dumps({"load": loaded, "fit": parts, "combine": combined}))


main()
