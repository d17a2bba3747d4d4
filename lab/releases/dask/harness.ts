/**
 * A user's Dask cluster on this host, run by the release's own start program (dask-start.py)
 * with certificates from a real hierarchy made by lib/pki: a root, one issuing CA per data center
 * with its name constraints, service certificates named as the sites name them
 * (`<instance>.<host>.<dc>.<domain>`) and user certificates. Processes run as they do on a node,
 * minus the partition users (the lab test covers those): scheduler and workers on 127.0.0.1.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "node:net";
import {
  createCsr,
  createRootCa,
  exportPkcs8,
  generateKeyPair,
  issueFromCsr,
  loadCa,
  type CertificateAuthority,
} from "../../../lib/pki";

export const DOMAIN = "zeroroot.test";
const RELEASE = __dirname;
/** The user job the tests and the bench run (numpy logistic regression, dask_job.py). */
export const JOB = join(__dirname, "dask_job.py");

export interface Hierarchy {
  readonly dir: string;
  readonly rootPem: string;
  readonly cas: Record<string, { ca: CertificateAuthority; pem: string }>;
}

export function makeHierarchy(dcs: readonly string[]): Hierarchy {
  const dir = mkdtempSync(join(tmpdir(), "zr-dask-"));
  const root = createRootCa({ commonName: "compute test root" });
  const cas: Hierarchy["cas"] = {};
  for (const dc of dcs) {
    const keys = generateKeyPair();
    const issued = issueFromCsr(
      root.ca,
      "issuing",
      createCsr({ commonName: `${dc} issuing CA` }, keys.privateKey),
      {
        nameScope: { dnsZones: [`${dc}.${DOMAIN}`] },
      },
    );
    cas[dc] = { ca: loadCa(issued.certificatePem, exportPkcs8(keys.privateKey)), pem: issued.certificatePem };
  }
  return { dir, rootPem: root.certificatePem, cas };
}

/** An instance directory as the agent leaves it: tls/key.pem, tls/cert.pem, tls/chain.pem. */
export function serviceInstance(h: Hierarchy, dc: string, name: string): string {
  const dir = join(h.dir, "instances", name, "instance");
  mkdirSync(join(dir, "tls"), { recursive: true, mode: 0o700 });
  const keys = generateKeyPair();
  const issued = issueFromCsr(
    h.cas[dc].ca,
    "service",
    createCsr({ commonName: name, dnsNames: [name] }, keys.privateKey),
    {
      commonName: name,
      dnsNames: [name],
    },
  );
  writeFileSync(join(dir, "tls", "key.pem"), exportPkcs8(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, "tls", "cert.pem"), issued.certificatePem);
  writeFileSync(join(dir, "tls", "chain.pem"), h.cas[dc].pem + h.rootPem);
  return dir;
}

/** A user's kit: leaf + issuing CA, key, root. */
export function userKit(h: Hierarchy, dc: string, name: string): { cert: string; key: string; ca: string } {
  const dir = join(h.dir, "users", `${dc}-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = generateKeyPair();
  const issued = issueFromCsr(h.cas[dc].ca, "user", createCsr({ commonName: name }, keys.privateKey), {
    commonName: name,
  });
  const kit = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), ca: join(dir, "root.pem") };
  writeFileSync(kit.cert, issued.certificatePem + h.cas[dc].pem);
  writeFileSync(kit.key, exportPkcs8(keys.privateKey), { mode: 0o600 });
  writeFileSync(kit.ca, h.rootPem);
  return kit;
}

export interface ClusterArgs {
  readonly owner: string;
  readonly cluster: string;
  readonly dataCenters: string;
  readonly schedulerPort: number;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  log(): string;
}

/** Runs dask-start.py as supervisord would (its environment: HOME and ZR_INSTANCE only). */
export function startProcess(
  instanceDir: string,
  role: "scheduler" | "worker",
  port: number,
  c: ClusterArgs,
): RunningProcess {
  const args = [
    join(RELEASE, "dask-start.py"),
    role,
    instanceDir,
    c.owner,
    c.cluster,
    c.dataCenters,
    DOMAIN,
    "127.0.0.1",
    String(port),
    "127.0.0.1",
    String(c.schedulerPort),
  ];
  const name = instanceDir.split("/").slice(-2)[0].split(".")[0];
  const child = spawn("/usr/bin/python3", args, {
    env: { HOME: instanceDir, ZR_INSTANCE: name },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
  return { child, log: () => out };
}

export async function waitForPort(port: number, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host: "127.0.0.1", port }, () => (s.destroy(), res(true)));
      s.on("error", () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the job (dask_job.py) with a kit; its JSON line and exit status. */
export function runJob(
  scheduler: string,
  kit: { cert: string; key: string; ca: string } | undefined,
  timeoutSeconds = 20,
): { status: number | null; result: Record<string, unknown>; stderr: string } {
  const args = [
    JOB,
    scheduler,
    ...(kit ? [kit.ca, kit.cert, kit.key] : []),
    "--timeout",
    String(timeoutSeconds),
  ];
  const r = spawnSync("/usr/bin/python3", args, {
    encoding: "utf8",
    timeout: 180_000,
    env: { PATH: "/usr/bin:/bin" },
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(line) as Record<string, unknown>;
  } catch {
    result = { unparsed: r.stdout.slice(-500) };
  }
  return { status: r.status, result, stderr: r.stderr.slice(-2000) };
}

/** Waits (the event loop running, so the process's output is read) until its log matches `re`. */
export async function waitForLog(p: RunningProcess, re: RegExp, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  while (!re.test(p.log()) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  return p.log();
}

export function stopAll(ps: readonly RunningProcess[]): void {
  for (const p of ps) if (p.child.exitCode === null) p.child.kill("SIGTERM");
}

export const cleanup = (h: Hierarchy | undefined): void => {
  if (h) rmSync(h.dir, { recursive: true, force: true });
};
