"""alice's client for test/lab/workloads/jobs.test.ts: submits one function to one worker, its
arguments on stdin (never on a command line)."""
import json, sys, time
from distributed import Client
from distributed.security import Security

def obtain(lifetime, canary):
    import os, zr_job
    os.environ["ZR_JOB_CANARY"] = canary  # where a careless helper would pass it on
    c = zr_job.current(lifetime)
    return {"cert": open(c.cert).read(), "ca": open(c.ca).read(), "chain": open(c.cert).read(),
            "key": c.key, "uid": os.getuid(), "serial": c.serial}

def other_node(hostname):
    import zr_job
    key, csr = zr_job.new_key_and_csr(zr_job.job_name(), [hostname])
    try:
        zr_job.ask_agent(csr, 60)
        return {"ok": True}
    except zr_job.JobCertificateError as e:
        return {"error": str(e)}

def renew(seconds, lifetime, every):
    import zr_job
    end = time.time() + seconds
    samples, certs, chains = [], {}, {}
    while True:
        c = zr_job.current(lifetime)
        now = time.time()
        if c.serial not in certs:
            certs[c.serial] = open(c.cert).read()
            chains[c.serial] = open(c.ca).read()
        samples.append({"at": now, "serial": c.serial, "notAfter": c.not_after})
        if now >= end:
            return {"samples": samples, "certs": certs, "roots": chains}
        time.sleep(every)

def _files(creds, lifetime):
    import zr_job
    if creds is None:
        c = zr_job.current(lifetime)
        return {"cert": c.cert, "key": c.key, "ca": c.ca, "serial": c.serial}
    return creds

def pg(target, creds, sql):
    import psycopg2
    f = _files(creds, 60)
    try:
        conn = psycopg2.connect(host=target["host"], hostaddr=target["hostaddr"], port=target["port"],
                                dbname=target["db"], user=target["user"], sslmode="verify-full",
                                sslrootcert=f["ca"], sslcert=f["cert"], sslkey=f["key"], connect_timeout=10)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
        finally:
            conn.close()
        return {"rows": rows, **f}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:400]}

def my(target, creds, statements):
    import pymysql
    f = creds
    try:
        conn = pymysql.connect(host=target["host"], port=target["port"], user=target["user"], database=target["db"],
                               ssl={"ca": f["ca"], "cert": f["cert"], "key": f["key"], "check_hostname": False},
                               connect_timeout=10)
        try:
            rows = []
            with conn.cursor() as cur:
                for sql, params in statements:
                    cur.execute(sql, params)
                    rows = [list(r) for r in cur.fetchall()]
            conn.commit()
        finally:
            conn.close()
        return {"rows": rows}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:400]}

def fresh(lifetime):
    import zr_job
    c = zr_job.JobCertificates(lifetime).current()  # a holder of its own: nothing deletes these files
    return {"cert": c.cert, "key": c.key, "ca": c.ca, "serial": c.serial}

scheduler, ca, cert, key, worker, mode = sys.argv[1:7]
args = json.loads(sys.stdin.read())
security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
with Client(scheduler, security=security, timeout=30) as client:
    fn = {"obtain": obtain, "other_node": other_node, "renew": renew, "pg": pg, "my": my, "fresh": fresh}[mode]
    print(json.dumps(client.submit(fn, *args, workers=[worker], allow_other_workers=False, pure=False).result()))
