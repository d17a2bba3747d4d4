"""bench/storage.ts's client: N single-row transactions (INSERT + COMMIT, one at a time) into
shop.bench, then prints one JSON line {"rows": N, "seconds": s, "retries": r}. A transaction that
Galera's certification refuses (1213, a conflict with a concurrent write-set) is retried and counted.

argv: <host> <port> <user> <rows> [<cert chain> <key> <root CA>]   (TLS when the last three are given)
"""
import json
import sys
import time

import pymysql

host, port, user, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ssl = {"ca": sys.argv[7], "cert": sys.argv[5], "key": sys.argv[6], "check_hostname": False} if len(sys.argv) == 8 else None
conn = pymysql.connect(host=host, port=port, user=user, ssl=ssl, database="shop", autocommit=False, connect_timeout=10)
retries = 0


def transaction(*statements):
    """Runs the statements and commits; a Galera certification conflict (1213) is retried."""
    global retries
    while True:
        try:
            with conn.cursor() as c:
                for sql, args in statements:
                    c.execute(sql, args)
            conn.commit()
            return
        except pymysql.err.OperationalError as e:
            if e.args[0] != 1213:
                raise
            conn.rollback()
            retries += 1


transaction(("CREATE TABLE IF NOT EXISTS bench (id INT PRIMARY KEY, v VARCHAR(64))", None))
transaction(("DELETE FROM bench", None))
t0 = time.monotonic()
for i in range(rows):
    transaction(("INSERT INTO bench (id, v) VALUES (%s, %s)", (i, f"value {i}")))
print(json.dumps({"rows": rows, "seconds": time.monotonic() - t0, "retries": retries, "tls": ssl is not None}))
