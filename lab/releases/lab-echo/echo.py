"""lab-echo: a mutual-TLS echo service, the lab's signed release fixture (not product code).

argv: <tls dir with cert.pem, key.pem, chain.pem> <port> <data file>
Accepts only clients whose certificate chains to the platform (CERT_REQUIRED), answers with the
client's CN, and appends it to its data file (so the instance holds data).
"""
import os
import socket
import ssl
import sys

tls, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem"))
ctx.load_verify_locations(os.path.join(tls, "chain.pem"))
ctx.verify_mode = ssl.CERT_REQUIRED
server = socket.create_server(("0.0.0.0", port))
while True:
    conn, _ = server.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True) as c:
            subject = dict(part[0] for part in c.getpeercert()["subject"])
            cn = subject.get("commonName", "?")
            with open(data, "a", encoding="utf-8") as f:
                f.write(cn + "\n")
            c.sendall(b"zeroroot lab-echo: hello " + cn.encode() + b"\n")
    except (ssl.SSLError, OSError):
        conn.close()
