"""bench/storage.ts's client: N single-row transactions (INSERT + COMMIT, one at a time) into
shop.bench, then prints one JSON line {"rows": N, "seconds": s}.

argv: <host> <port> <user> <rows> [<cert chain> <key> <root CA>]   (TLS when the last three are given)
"""
import json
import sys
import time

import pymysql

host, port, user, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ssl = {"ca": sys.argv[7], "cert": sys.argv[5], "key": sys.argv[6], "check_hostname": False} if len(sys.argv) == 8 else None
conn = pymysql.connect(host=host, port=port, user=user, ssl=ssl, database="shop", autocommit=False, connect_timeout=10)
with conn.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS bench (id INT PRIMARY KEY, v VARCHAR(64))")
    c.execute("DELETE FROM bench")
conn.commit()
t0 = time.monotonic()
with conn.cursor() as c:
    for i in range(rows):
        c.execute("INSERT INTO bench (id, v) VALUES (%s, %s)", (i, f"value {i}"))
        conn.commit()
print(json.dumps({"rows": rows, "seconds": time.monotonic() - t0, "tls": ssl is not None}))
