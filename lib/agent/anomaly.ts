/**
 * Abnormal-usage detection, per instance (one instance per partition). Pure: the agent feeds it one
 * sample of the partition's processes and sockets at a time and reports what it returns.
 *
 *   cpu-high              CPU (in cores) above max(factor × baseline, baseline + minExcessCores) for
 *                         sustainedSamples samples in a row, after warmupSamples samples of learning.
 *                         The baseline is an EWMA that does not learn from anomalous samples.
 *   undeclared-port       the partition listens on a port its release does not declare
 *   unsupervised-process  a process of the partition's uid that does not descend from its supervisord
 *   wrong-user            a process under the partition's supervisord running as another uid
 *
 * Each finding is returned once per episode (a port, a process) and again only after it went away.
 */
import { descendantsOf, type ListeningSocket } from "./procfs";

export interface ProcessRow {
  readonly pid: number;
  readonly ppid: number;
  /** Real uid; `euid` when it differs. */
  readonly uid: number;
  readonly euid?: number;
  readonly comm: string;
  readonly cpuTicks: number;
  readonly startTicks: number;
  readonly rssPages: number;
}

export interface PartitionSample {
  /** Milliseconds (any monotonic clock). */
  readonly at: number;
  readonly partitionUid: number;
  /** Pid of the partition's supervisord; undefined when it is not running. */
  readonly supervisordPid?: number;
  /** Every process of the node (the detector picks the partition's). */
  readonly processes: readonly ProcessRow[];
  /** Every listening socket of the node. */
  readonly listening: readonly ListeningSocket[];
}

export interface Thresholds {
  readonly factor: number;
  readonly minExcessCores: number;
  readonly sustainedSamples: number;
  readonly warmupSamples: number;
  /** EWMA weight of a new sample. */
  readonly alpha: number;
  readonly clockTicksPerSecond: number;
  readonly pageBytes: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  factor: 3,
  minExcessCores: 0.5,
  sustainedSamples: 3,
  warmupSamples: 5,
  alpha: 0.1,
  clockTicksPerSecond: 100,
  pageBytes: 4096,
};

export type FindingKind = "cpu-high" | "undeclared-port" | "unsupervised-process" | "wrong-user";

export interface Finding {
  readonly kind: FindingKind;
  readonly detail: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

export interface PartitionUsage {
  readonly cpuCores: number;
  readonly rssBytes: number;
  readonly processes: number;
  readonly listeningPorts: readonly { readonly port: number; readonly protocol: string }[];
}

interface InstanceMemory {
  prevAt?: number;
  prevTicks: Map<string, number>;
  baseline?: number;
  samples: number;
  over: number;
  cpuEpisode: boolean;
  open: Set<string>;
}

export class AnomalyDetector {
  private readonly t: Thresholds;
  private readonly mem = new Map<string, InstanceMemory>();

  constructor(thresholds: Partial<Thresholds> = {}) {
    this.t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  }

  /** The learned baseline of an instance, in cores (undefined before the first interval). */
  baseline(instance: string): number | undefined {
    return this.mem.get(instance)?.baseline;
  }

  forget(instance: string): void {
    this.mem.delete(instance);
  }

  observe(
    instance: string,
    s: PartitionSample,
    declaredPorts: readonly number[],
  ): { usage: PartitionUsage; findings: Finding[] } {
    const m =
      this.mem.get(instance) ??
      ({ prevTicks: new Map(), samples: 0, over: 0, cpuEpisode: false, open: new Set() } as InstanceMemory);
    this.mem.set(instance, m);
    const parents = new Map(s.processes.map((p) => [p.pid, p.ppid]));
    const under =
      s.supervisordPid === undefined ? new Set<number>() : descendantsOf(s.supervisordPid, parents);
    const mine = s.processes.filter(
      (p) => p.uid === s.partitionUid || p.pid === s.supervisordPid || under.has(p.pid),
    );
    const findings: Finding[] = [];
    const seen = new Set<string>();
    const once = (key: string, f: Finding) => {
      seen.add(key);
      if (!m.open.has(key)) findings.push(f);
    };

    for (const p of mine) {
      const ev = { pid: p.pid, ppid: p.ppid, uid: p.uid, euid: p.euid ?? p.uid, comm: p.comm };
      if (p.pid === s.supervisordPid) {
        if (p.uid !== s.partitionUid || (p.euid ?? p.uid) !== s.partitionUid)
          once(`wrong-user:${p.pid}:${p.startTicks}`, {
            kind: "wrong-user",
            detail: `the partition's supervisord (pid ${p.pid}) runs as uid ${p.uid}, not ${s.partitionUid}`,
            evidence: ev,
          });
        continue;
      }
      if (under.has(p.pid)) {
        if (p.uid !== s.partitionUid || (p.euid ?? p.uid) !== s.partitionUid)
          once(`wrong-user:${p.pid}:${p.startTicks}`, {
            kind: "wrong-user",
            detail: `process ${p.pid} (${p.comm}) under the partition's supervisord runs as uid ${p.uid}/${p.euid ?? p.uid}, not the partition user ${s.partitionUid}`,
            evidence: ev,
          });
      } else {
        once(`unsupervised:${p.pid}:${p.startTicks}`, {
          kind: "unsupervised-process",
          detail: `process ${p.pid} (${p.comm}) runs as the partition user but was not started by its supervisord${s.supervisordPid === undefined ? " (which is not running)" : ` (pid ${s.supervisordPid})`}`,
          evidence: { ...ev, supervisordPid: s.supervisordPid ?? null },
        });
      }
    }

    const ports = s.listening.filter((l) => l.uid === s.partitionUid);
    for (const l of ports) {
      if (!declaredPorts.includes(l.port))
        once(`port:${l.protocol}:${l.port}`, {
          kind: "undeclared-port",
          detail: `the partition listens on ${l.protocol} port ${l.port}, which its release does not declare (declared: ${declaredPorts.join(", ") || "none"})`,
          evidence: { port: l.port, protocol: l.protocol, declared: declaredPorts },
        });
    }

    // CPU over the interval since the previous sample
    const ticks = new Map(mine.map((p) => [`${p.pid}:${p.startTicks}`, p.cpuTicks]));
    let cpuCores = 0;
    if (m.prevAt !== undefined && s.at > m.prevAt) {
      let delta = 0;
      for (const [k, v] of ticks) delta += Math.max(0, v - (m.prevTicks.get(k) ?? 0));
      cpuCores = delta / this.t.clockTicksPerSecond / ((s.at - m.prevAt) / 1000);
      this.judgeCpu(m, cpuCores, findings, instance);
    }
    m.prevAt = s.at;
    m.prevTicks = ticks;
    if (m.cpuEpisode) seen.add("cpu");
    for (const k of [...m.open]) if (!seen.has(k)) m.open.delete(k);
    for (const k of seen) m.open.add(k);

    const uniquePorts = [...new Map(ports.map((l) => [`${l.protocol}:${l.port}`, l])).values()]
      .map((l) => ({ port: l.port, protocol: l.protocol }))
      .sort((a, b) => a.port - b.port);
    return {
      usage: {
        cpuCores: Math.round(cpuCores * 1000) / 1000,
        rssBytes: mine.reduce((a, p) => a + p.rssPages * this.t.pageBytes, 0),
        processes: mine.length,
        listeningPorts: uniquePorts,
      },
      findings,
    };
  }

  private judgeCpu(m: InstanceMemory, cpu: number, findings: Finding[], instance: string): void {
    m.samples++;
    const base = m.baseline ?? cpu;
    const limit = Math.max(base * this.t.factor, base + this.t.minExcessCores);
    const learning = m.samples <= this.t.warmupSamples;
    if (!learning && cpu > limit) {
      m.over++;
      if (m.over >= this.t.sustainedSamples && !m.cpuEpisode) {
        m.cpuEpisode = true;
        findings.push({
          kind: "cpu-high",
          detail: `instance ${instance} used ${cpu.toFixed(2)} cores for ${m.over} samples in a row; its baseline is ${base.toFixed(3)} cores (limit ${limit.toFixed(2)})`,
          evidence: {
            cpuCores: round(cpu),
            baselineCores: round(base),
            limitCores: round(limit),
            samples: m.over,
          },
        });
      }
      return; // the baseline does not learn from an anomaly
    }
    m.over = 0;
    m.cpuEpisode = false;
    m.baseline = m.baseline === undefined ? cpu : m.baseline + this.t.alpha * (cpu - m.baseline);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
