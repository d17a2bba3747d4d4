/**
 * The Dask release's job helper (lab/releases/dask/zr_job.py) as a task runs it: a Python process of
 * the worker partition's uid, its key made in memory by openssl over pipes, a CSR through the
 * partition's socket served by the agent's code, a real site over mutual TLS signing it.
 */
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { Server } from "node:net";
import * as path from "node:path";
import type { AgentContext } from "../../../agents/node/context";
import { obtainJobCertificate } from "../../../agents/node/job-cert";
import { serveJobSocket } from "../../../agents/node/job-socket";
import { jobAgent } from "../../helpers/job-agent";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";

const canRun = process.getuid?.() === 0;
const HELPER_DIR = path.resolve(__dirname, "../../../lab/releases/dask");
const UID = 2101; // alice's worker partition in jobAgent's desired state

describe("the job helper of the dask release (zr_job.py, in the worker's process)", function () {
  this.timeout(60_000);
  let site: SiteFixture;
  let ctx: AgentContext;
  let dir: string;
  let instance: string;
  let server: Server;
  const agentLog: string[] = [];
  const canary = `zr-canary-${Date.now().toString(36)}-do-not-leak`;

  /** Python as the partition's uid, with the environment dask-start.py gives a worker (plus a canary). */
  // asynchronous: the socket and the site answer from this same process
  const task = async (code: string, owner = "dc1/user/alice") => {
    const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        "setpriv",
        [`--reuid=${UID}`, `--regid=${UID}`, "--clear-groups", "/usr/bin/python3", "-c", code],
        {
          encoding: "utf8",
          env: {
            PATH: "/usr/bin:/bin",
            PYTHONPATH: HELPER_DIR,
            ZR_INSTANCE_DIR: instance,
            ZR_DASK_OWNER: owner,
            ZR_CANARY_SECRET: canary,
          },
          timeout: 40_000,
        },
        (err, stdout, stderr) => resolve({ status: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  };
  const openssl = (args: string[], input?: string) =>
    spawnSync("openssl", args, { encoding: "utf8", input }).stdout.trim();

  before(async function () {
    if (!canRun) this.skip();
    site = await startSite();
    ({ ctx, dir } = jobAgent(site));
    fs.chmodSync(dir, 0o755);
    // the instance directory as the image makes it: the partition's, setgid
    instance = path.join(dir, "instance");
    fs.mkdirSync(instance);
    fs.chownSync(instance, UID, UID);
    fs.chmodSync(instance, 0o2770);
    server = await serveJobSocket(
      instance,
      (r) => obtainJobCertificate(ctx, UID, r),
      (m) => agentLog.push(m),
    );
  });
  after(async () => {
    if (!canRun) return;
    server.close();
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("obtains alice's job certificate: key 0600 in the partition's own 0700 directory, matching the certificate", async () => {
    const r = await task(`
import json, os, zr_job
c = zr_job.current(60)
st = os.stat(c.key); d = os.stat(os.path.dirname(c.key))
print(json.dumps({"cert": c.cert, "key": c.key, "ca": c.ca, "keyMode": st.st_mode & 0o777, "keyUid": st.st_uid,
  "dirMode": d.st_mode & 0o777, "due": c.renewal_due(c.obtained_at + 30), "dueLater": c.renewal_due(c.obtained_at + 50), "life": c.not_after - c.obtained_at}))`);
    assert.equal(path.dirname(r.key as string), path.join(instance, "run", "job"));
    assert.deepEqual([r.keyMode, r.keyUid, r.dirMode], [0o600, UID, 0o700]);
    const leaf = openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", r.cert as string]);
    assert.equal(leaf, "subject=CN=dc1.alice,O=127.0.0.1");
    const certKey = openssl(["x509", "-noout", "-pubkey", "-in", r.cert as string]);
    const ownKey = openssl(["pkey", "-pubout", "-in", r.key as string]);
    assert.equal(certKey, ownKey, "the certificate is for the key the job made");
    const verify = spawnSync(
      "openssl",
      [
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        r.ca as string,
        "-untrusted",
        r.cert as string,
        r.cert as string,
      ],
      { encoding: "utf8" },
    );
    assert.equal(verify.status, 0, verify.stderr);
    // renewal once a third of the 60 s asked is left: not after 30 s, due after 50 s (40 s and the site's delay)
    assert.equal(r.due, false);
    assert.equal(r.dueLater, true, JSON.stringify(r));
    assert.ok((r.life as number) <= 61 && (r.life as number) > 55, `life ${String(r.life)}`);
  });

  it("renews with a new key and new files when due, keeping the previous pair and deleting older ones", async () => {
    const r = await task(`
import json, os, time, zr_job
h = zr_job.JobCertificates(60)
seen = []
for _ in range(3):
    c = h.current()
    seen.append({"serial": c.serial, "key": c.key, "pub": open(c.key).read()[40:80]})
    c.obtained_at -= 60; c.not_after -= 60  # as if 60 s had passed: renewal due at the next call
print(json.dumps({"seen": seen, "renewals": h.renewals, "left": sorted(os.listdir(os.path.dirname(c.key)))}))`);
    const seen = r.seen as { serial: string; key: string; pub: string }[];
    assert.equal(new Set(seen.map((s) => s.serial)).size, 3, "three certificates");
    assert.equal(new Set(seen.map((s) => s.pub)).size, 3, "three keys");
    assert.equal(r.renewals, 2);
    const left = r.left as string[];
    assert.ok(!left.includes(path.basename(seen[0].key)), "the oldest pair is deleted");
    assert.ok(left.includes(path.basename(seen[1].key)) && left.includes(path.basename(seen[2].key)));
  });

  it("raises the agent's refusal when the job asks as someone else, and nothing secret reaches a log", async () => {
    const r = await task(
      `
import json, zr_job
try:
    zr_job.current(60); print(json.dumps({"ok": True}))
except zr_job.JobCertificateError as e:
    print(json.dumps({"error": str(e)}))`,
      "dc2/user/bob",
    );
    assert.match(String(r.error), /the agent refused: bad-csr: .*only for "dc1\.alice"/);
    const logs = [...agentLog, ...site.logs].join("\n");
    assert.ok(agentLog.some((l) => /refused: bad-csr/.test(l)));
    assert.ok(
      !logs.includes(canary) && !logs.includes("PRIVATE KEY") && !logs.includes("CERTIFICATE REQUEST"),
    );
  });

  it("says where the socket is when the agent serves none", async () => {
    const r = await task(`
import json, zr_job
try:
    zr_job.ask_agent("x", 60, "/nonexistent/jobs/agent.sock")
except zr_job.JobCertificateError as e:
    print(json.dumps({"error": str(e)}))`);
    assert.match(String(r.error), /job socket \/nonexistent\/jobs\/agent\.sock is not reachable/);
  });
});
