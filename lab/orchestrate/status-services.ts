/**
 * `lab status`, the management servers' part: each site service as it is now (its process, its
 * supervisor's word, whether it answers HTTPS from its management namespace) and each agent's last
 * report, read from the control plane.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { programState, uidOf } from "../supervise";
import { readComputerKeys } from "./computer-keys";
import { DOMAIN, mgmtNs, SITE_PORT, type LabLayout } from "./layout";
import { sitePid, siteSupervisor } from "./sites";

export interface SiteReport {
  readonly dataCenter: string;
  /** Its serving process exists (host /proc). */
  readonly running: boolean;
  readonly pid?: number;
  readonly uid?: number;
  /** What its supervisord says: RUNNING, STARTING, BACKOFF (restarting), FATAL (gave up), NO-SUPERVISOR… */
  readonly supervisor: string;
  /** It answered `GET /crl` over TLS (verified against the root) from its management namespace. */
  readonly answers: boolean;
  readonly detail: string;
}

const run = (argv: readonly string[], timeoutMs: number) =>
  new Promise<{ ok: boolean; out: string }>((resolve) =>
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: err ? String(stderr || err.message).trim() : String(stdout) }),
    ),
  );

export async function siteReports(lab: LabLayout): Promise<SiteReport[]> {
  return Promise.all(
    lab.plan.dataCenters.map(async (d): Promise<SiteReport> => {
      const program = siteSupervisor(lab, d.id);
      const pid = sitePid(lab, d.id);
      const name = `site.${d.id}.${DOMAIN}`;
      const probe = await run(
        [
          "ip",
          "netns",
          "exec",
          mgmtNs(d.id),
          "curl",
          "-sS",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-m",
          "4",
          "--cacert",
          join(lab.dir, "root.pem"),
          "--resolve",
          `${name}:${SITE_PORT}:${d.managementServer.managementAddress}`,
          `https://${name}:${SITE_PORT}/crl`,
        ],
        8000,
      );
      const answers = probe.ok && probe.out === "200";
      const supervisor = (await programState(program.dir, program.name)).state;
      return {
        dataCenter: d.id,
        running: pid !== undefined,
        pid,
        uid: pid === undefined ? undefined : uidOf(pid),
        supervisor,
        answers,
        detail: answers
          ? "answers"
          : `does not answer (${probe.out.split("\n")[0].slice(0, 160) || "no reply"}; log ${join(lab.paths.logs, `site-${d.id}.log`)})`,
      };
    }),
  );
}

/**
 * When each computer's agent last reported (`at` of its /computers/<id>/report/status), read as
 * etcd's root with a serializable read, so a member without quorum still tells what it holds.
 */
export async function agentReportTimes(
  lab: LabLayout,
): Promise<{ readonly at: ReadonlyMap<string, string> } | { readonly error: string }> {
  try {
    const values = await readComputerKeys(lab, { consistency: "s", timeoutSeconds: 3 });
    const at = new Map<string, string>();
    for (const [key, value] of values) {
      const m = /^\/computers\/([^/]+)\/report\/status$/.exec(key);
      if (!m) continue;
      try {
        const v = JSON.parse(value) as { at?: unknown };
        if (typeof v.at === "string" && !Number.isNaN(Date.parse(v.at))) at.set(m[1], v.at);
      } catch {
        /* not a report: no time */
      }
    }
    return { at };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0].slice(0, 200) };
  }
}
