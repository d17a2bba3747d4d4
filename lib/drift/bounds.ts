/**
 * Bounds on one server's observation, applied before any rule runs: a report is the agent's word
 * (or an intruder's, on a compromised server), so its lists are cut to sizes no real server
 * reaches, and a cut is itself reported (the rest of the report was not judged).
 */
import { isObservationError, type ObservedServer } from "./observed";

export const OBSERVATION_LIMITS = {
  instances: 500,
  programsPerInstance: 100,
  processes: 20_000,
  packages: 20_000,
  units: 5_000,
  accounts: 5_000,
  listening: 5_000,
  certificates: 1_000,
  alerts: 50,
  openTcpPorts: 65_536,
  probes: 1_000,
} as const;

type Limits = typeof OBSERVATION_LIMITS;

/** The observation with every list cut to its bound, and a sentence per list that was cut. */
export function boundObserved(o: ObservedServer): { observed: ObservedServer; truncated: string[] } {
  const truncated: string[] = [];
  const cut = <T>(xs: readonly T[] | undefined, key: keyof Limits, what: string): T[] | undefined => {
    if (!Array.isArray(xs)) return undefined;
    const max = OBSERVATION_LIMITS[key];
    if (xs.length <= max) return xs as T[];
    truncated.push(`the report lists ${xs.length} ${what}; only the first ${max} were judged`);
    return xs.slice(0, max);
  };
  let report = o.report;
  if (!isObservationError(report)) {
    const h = report.host;
    report = {
      ...report,
      instances: (cut(report.instances, "instances", "instances") ?? []).map((i) => ({
        ...i,
        programs: cut(i.programs, "programsPerInstance", `programs of instance ${i.name.slice(0, 40)}`) ?? [],
      })),
      certificates: cut(report.certificates, "certificates", "certificates") ?? [],
      alerts: cut(report.alerts, "alerts", "alerts") ?? [],
      host: {
        ...h,
        processes: cut(h.processes, "processes", "processes"),
        packages: cut(h.packages, "packages", "packages"),
        units: cut(h.units, "units", "units"),
        accounts: cut(h.accounts, "accounts", "accounts"),
        listening: cut(h.listening, "listening", "listening sockets"),
      },
    };
  }
  let probes = o.probes;
  if (!isObservationError(probes))
    probes = {
      ...probes,
      openTcpPorts: cut(probes.openTcpPorts, "openTcpPorts", "open ports") ?? [],
      ssh: cut(probes.ssh, "probes", "SSH probes") ?? [],
      tls: cut(probes.tls, "probes", "TLS probes") ?? [],
    };
  return { observed: { ...o, report, probes }, truncated };
}
