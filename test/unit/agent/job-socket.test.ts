import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Server } from "node:net";
import { JOB_CSR_BODY_LIMIT } from "../../../lib/compute/job-protocol";
import {
  JOB_SOCKET_LIMITS,
  jobSocketPath,
  serveJobSocket,
  type JobObtainer,
} from "../../../agents/node/job-socket";

/** Sends `line` (raw) to the socket and returns the one JSON line answered. */
function ask(file: string, line: string | Buffer): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(file);
    let out = "";
    c.on("data", (d) => (out += d.toString()));
    c.on("error", reject);
    c.on("close", () => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(out)}`));
      }
    });
    c.write(line);
  });
}

describe("agent: a worker partition's job socket (bounded, one JSON line each way)", () => {
  let dir: string;
  let server: Server;
  const seen: unknown[] = [];
  const logs: string[] = [];
  const obtain: JobObtainer = (r) => {
    seen.push(r);
    if (r.csrPem === "refuse me") return Promise.reject(new Error("bad-csr: refused"));
    return Promise.resolve({ certificatePem: "CERT", chainPem: "CHAIN", notAfter: "2026-12-02T01:00:00Z" });
  };

  before(async () => {
    // an instance directory as the agent has them: setgid, so what is made inside takes its group
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobsock-"));
    fs.chmodSync(dir, 0o2750);
    server = await serveJobSocket(dir, obtain, (m) => logs.push(m));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lives in a setgid directory of mode 2750 as a socket of mode 0660", () => {
    assert.equal(fs.statSync(path.join(dir, "jobs")).mode & 0o7777, 0o2750);
    const st = fs.lstatSync(jobSocketPath(dir));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
  });

  it("lets the partition's uid connect and refuses another partition's (file permissions, real processes)", function () {
    if (process.getuid?.() !== 0) this.skip();
    // the instance directory belongs to partition 2101's group; the socket inherits it
    const inst = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobsock-"));
    fs.chownSync(inst, 0, 2101);
    fs.chmodSync(inst, 0o2750);
    return serveJobSocket(inst, obtain, () => undefined).then((srv) => {
      const connectAs = (uid: number) =>
        spawnSync(
          "setpriv",
          [
            `--reuid=${uid}`,
            `--regid=${uid}`,
            "--clear-groups",
            "/usr/bin/python3", // not a shim under /root, which the partition uid cannot read
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print(e.strerror)",
            jobSocketPath(inst),
          ],
          { encoding: "utf8" },
        ).stdout.trim();
      try {
        assert.equal(fs.statSync(jobSocketPath(inst)).gid, 2101);
        assert.equal(connectAs(2101), "connected");
        assert.equal(connectAs(2102), "Permission denied");
      } finally {
        srv.close();
        fs.rmSync(inst, { recursive: true, force: true });
      }
    });
  });

  it("passes the CSR and lifetime on, nothing else, and answers the certificate", async () => {
    const r = await ask(
      jobSocketPath(dir),
      `${JSON.stringify({ csrPem: "CSR", lifetimeSeconds: 600, owner: "dc1/user/bob" })}\n`,
    );
    assert.deepEqual(r, { certificatePem: "CERT", chainPem: "CHAIN", notAfter: "2026-12-02T01:00:00Z" });
    assert.deepEqual(seen.at(-1), { csrPem: "CSR", lifetimeSeconds: 600 });
  });

  it("answers a refusal as an error line", async () => {
    const r = await ask(jobSocketPath(dir), `${JSON.stringify({ csrPem: "refuse me" })}\n`);
    assert.equal(r.error, "bad-csr: refused");
  });

  for (const [what, line, match] of [
    ["a line over the limit", Buffer.alloc(JOB_CSR_BODY_LIMIT + 10, 0x41), /over \d+ bytes/],
    ["no JSON", "csr please\n", /not JSON/],
    ["a JSON array", "[1]\n", /not a JSON object/],
  ] as const)
    it(`refuses ${what} without asking for a certificate`, async () => {
      const before = seen.length;
      const r = await ask(jobSocketPath(dir), line);
      assert.match(String(r.error), match);
      assert.equal(seen.length, before);
    });

  it("refuses past 30 requests a minute", async () => {
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < JOB_SOCKET_LIMITS.perMinute; i++)
      answers.push(await ask(jobSocketPath(dir), `${JSON.stringify({ csrPem: "CSR" })}\n`));
    assert.ok(answers.some((a) => /too many/.test(String(a.error))));
    assert.ok(answers.some((a) => a.certificatePem === "CERT"));
  });

  it("will not serve from an instance directory that is not setgid (the socket would not be the partition's)", async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobsock-"));
    fs.chmodSync(plain, 0o750);
    await assert.rejects(
      serveJobSocket(plain, obtain, () => undefined),
      /must be a setgid directory/,
    );
    assert.equal(fs.existsSync(jobSocketPath(plain)), false);
    fs.rmSync(plain, { recursive: true, force: true });
  });

  it("will not replace a file that is not a socket", async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "zr-jobsock-"));
    fs.chmodSync(other, 0o2750);
    fs.mkdirSync(path.join(other, "jobs"), { mode: 0o750 });
    fs.writeFileSync(jobSocketPath(other), "not a socket");
    await assert.rejects(
      serveJobSocket(other, obtain, () => undefined),
      /is not a socket/,
    );
    assert.equal(fs.readFileSync(jobSocketPath(other), "utf8"), "not a socket");
    fs.rmSync(other, { recursive: true, force: true });
  });
});
