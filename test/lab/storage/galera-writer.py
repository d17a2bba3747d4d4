"""Writes continuously to a Galera member and logs every write the server acknowledged.

argv: <host> <port> <user> <cert chain> <key> <root CA> <ack log> <stop file>
One row per transaction (INSERT, COMMIT) into shop.acked; an id is written to the ack log (flushed)
only after COMMIT returned. A failed attempt is not retried under the same id: an id absent from
the log may or may not be on the server, an id in the log must be on every member afterwards.
TLS with the user's certificate, the chain verified against the root (the server is reached by
address, so its name is not checked here; the client tests check it).
"""
import os
import sys
import time

import pymysql

host, port, user, cert, key, ca, log_path, stop_path = sys.argv[1:9]
ssl = {"ca": ca, "cert": cert, "key": key, "check_hostname": False}


def connect():
    return pymysql.connect(host=host, port=int(port), user=user, ssl=ssl, database="shop", connect_timeout=5,
                           read_timeout=10, write_timeout=10, autocommit=False)


next_id, acked, failed, conn = 1, 0, 0, None
with open(log_path, "a", encoding="ascii") as log:
    while not os.path.exists(stop_path):
        n = next_id
        try:
            if conn is None:
                conn = connect()
            next_id += 1
            with conn.cursor() as c:
                c.execute("INSERT INTO acked (id) VALUES (%s)", (n,))
            conn.commit()
            log.write(f"{n}\n")
            log.flush()
            acked += 1
            time.sleep(0.02)
        except pymysql.MySQLError as e:
            failed += 1
            print(f"galera-writer: write {n} not acknowledged: {e}", flush=True)
            try:
                if conn is not None:
                    conn.close()
            except pymysql.MySQLError:
                pass
            conn = None
            time.sleep(0.5)
print(f"galera-writer: {acked} writes acknowledged, {failed} attempts failed", flush=True)
