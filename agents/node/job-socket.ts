/**
 * Where a job asks for its certificate: one unix socket per worker partition,
 * `<instance dir>/jobs/agent.sock`, in a directory of the partition's group (setgid, 2750, inherited
 * from the instance directory) with the socket 0660, so that only that partition's processes (and the agent) can connect. Who asks is
 * therefore known from *which* socket was reached — node's net module has no SO_PEERCRED — and
 * never from what the request says.
 *
 * Protocol: one JSON line `{"csrPem": "...", "lifetimeSeconds": 900}` in, one JSON line out:
 * `{"certificatePem", "chainPem", "notAfter"}` or `{"error": "..."}`. Bounded before any work: one
 * line of at most JOB_CSR_BODY_LIMIT bytes, 10 s to send it, 2 connections at a time and 30
 * requests a minute per partition (the site's CA signs each).
 */
import { chmodSync, lstatSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { JOB_CSR_BODY_LIMIT, type JobCsrResponse } from "../../lib/compute/job-protocol";

export const JOB_SOCKET_LIMITS = { timeoutMs: 10_000, concurrent: 2, perMinute: 30 } as const;

export const jobSocketPath = (instanceDir: string): string => join(instanceDir, "jobs", "agent.sock");

export type JobObtainer = (request: {
  readonly csrPem: unknown;
  readonly lifetimeSeconds?: unknown;
}) => Promise<JobCsrResponse>;

/** Listens on the partition's job socket; `obtain` is obtainJobCertificate bound to its uid. */
export async function serveJobSocket(
  instanceDir: string,
  obtain: JobObtainer,
  log: (msg: string) => void,
): Promise<Server> {
  const file = jobSocketPath(instanceDir);
  checkJobsDirectory(instanceDir);
  removeStaleSocket(file);
  let open = 0;
  const recent: number[] = [];
  const server = createServer((sock) => {
    const now = Date.now();
    while (recent.length && recent[0] < now - 60_000) recent.shift();
    if (open >= JOB_SOCKET_LIMITS.concurrent || recent.length >= JOB_SOCKET_LIMITS.perMinute) {
      answer(sock, { error: "too many job certificate requests from this partition; retry in a minute" });
      return;
    }
    open += 1;
    recent.push(now);
    sock.on("close", () => (open -= 1));
    handle(sock, obtain, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => resolve());
  });
  chmodSync(file, 0o660);
  return server;
}

/**
 * The jobs directory inherits the instance directory's group (the partition's) through its setgid
 * bit, as the instance's tls directory does; without that the socket would carry the agent's group
 * and either no job or the wrong one could connect, so the agent refuses to serve.
 */
function checkJobsDirectory(instanceDir: string): void {
  const dir = join(instanceDir, "jobs");
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const parent = statSync(instanceDir);
  const st = lstatSync(dir);
  if (!st.isDirectory() || (st.mode & 0o2000) === 0 || st.gid !== parent.gid || (st.mode & 0o007) !== 0)
    throw new Error(
      `${dir} must be a setgid directory of the instance's group (${parent.gid}) closed to others (found mode ${(st.mode & 0o7777).toString(8)}, group ${st.gid}); the instance directory must be setgid`,
    );
}

/** A socket left by a previous run is replaced; anything else at that path is refused, not removed. */
function removeStaleSocket(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${file} exists and is not a socket; the agent will not replace it`);
  rmSync(file);
}

function handle(sock: Socket, obtain: JobObtainer, log: (msg: string) => void): void {
  let buf = Buffer.alloc(0);
  let done = false;
  sock.setTimeout(JOB_SOCKET_LIMITS.timeoutMs, () => finish({ error: "no request line within 10 s" }));
  const finish = (body: unknown) => {
    if (done) return;
    done = true;
    answer(sock, body);
  };
  sock.on("error", () => sock.destroy());
  sock.on("data", (chunk: Buffer) => {
    if (done) return;
    buf = Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(0x0a);
    if (nl < 0 && buf.length <= JOB_CSR_BODY_LIMIT) return;
    if (nl < 0 || nl > JOB_CSR_BODY_LIMIT) {
      finish({ error: `the request is over ${JOB_CSR_BODY_LIMIT} bytes; send one JSON line with csrPem` });
      return;
    }
    let req: unknown;
    try {
      req = JSON.parse(buf.subarray(0, nl).toString("utf8"));
    } catch {
      finish({ error: 'the request is not JSON; send {"csrPem": "...", "lifetimeSeconds": 900}' });
      return;
    }
    if (typeof req !== "object" || req === null || Array.isArray(req)) {
      finish({ error: 'the request is not a JSON object; send {"csrPem": "...", "lifetimeSeconds": 900}' });
      return;
    }
    const r = req as Record<string, unknown>;
    obtain({ csrPem: r.csrPem, lifetimeSeconds: r.lifetimeSeconds }).then(finish, (err: unknown) => {
      // the reason goes back to the job; the agent already alerted (obtainJobCertificate)
      const msg = err instanceof Error ? err.message : String(err);
      log(`job certificate request refused: ${msg}`);
      finish({ error: msg });
    });
  });
}

function answer(sock: Socket, body: unknown): void {
  if (sock.writable) sock.end(`${JSON.stringify(body)}\n`);
  else sock.destroy();
}
