import { strict as assert } from "node:assert";
import { AnomalyDetector, type PartitionSample, type ProcessRow } from "../../../lib/agent";

const UID = 2100;
const SUP = 500;
const proc = (over: Partial<ProcessRow>): ProcessRow => ({
  pid: 600,
  ppid: SUP,
  uid: UID,
  comm: "web",
  cpuTicks: 0,
  startTicks: 1,
  rssPages: 100,
  ...over,
});
const supd = proc({ pid: SUP, ppid: 1, comm: "supervisord" });

/** A partition whose program used `cores` CPU over each 1 s sample. */
function series(cores: number[], extra: (i: number) => Partial<PartitionSample> = () => ({})) {
  let ticks = 0;
  return cores.map((c, i) => {
    ticks += c * 100;
    return {
      at: i * 1000,
      partitionUid: UID,
      supervisordPid: SUP,
      processes: [supd, proc({ cpuTicks: ticks })],
      listening: [{ port: 8080, uid: UID, protocol: "tcp" as const }],
      ...extra(i),
    };
  });
}

describe("agent: abnormal-usage detector", () => {
  it("flags CPU sustained far above the learned baseline, once per episode, with evidence", () => {
    const d = new AnomalyDetector();
    const found = series([...Array(10).fill(0.02), ...Array(6).fill(1)]).flatMap((s) =>
      d.observe("i", s, [8080]).findings.map((f) => ({ ...f, at: s.at })),
    );
    assert.equal(found.length, 1);
    assert.equal(found[0].kind, "cpu-high");
    assert.equal(found[0].at, 12_000, "flagged at the third sample in a row above the limit");
    assert.ok((found[0].evidence.cpuCores as number) > 0.9);
    assert.ok((found[0].evidence.baselineCores as number) < 0.05, "the baseline did not learn the attack");
  });

  it("does not flag a short spike, nor anything during warm-up", () => {
    const d = new AnomalyDetector();
    const cores = [1, 1, 1, 1, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 1, 1, 0.02, 0.02];
    const kinds = series(cores).flatMap((s) => d.observe("i", s, [8080]).findings.map((f) => f.kind));
    assert.deepEqual(kinds, []);
  });

  it("does not flag a busy instance whose baseline is high", () => {
    const d = new AnomalyDetector();
    const kinds = series(Array(20).fill(0.9)).flatMap((s) => d.observe("i", s, [8080]).findings);
    assert.deepEqual(kinds, []);
  });

  it("flags a listening port the release does not declare, once", () => {
    const d = new AnomalyDetector();
    const s = series([0, 0, 0], () => ({ listening: [{ port: 4444, uid: UID, protocol: "tcp" as const }] }));
    const f = s.flatMap((x) => d.observe("i", x, [8080]).findings);
    assert.deepEqual(
      f.map((x) => [x.kind, x.evidence.port]),
      [["undeclared-port", 4444]],
    );
  });

  it("ignores ports of other users", () => {
    const d = new AnomalyDetector();
    const s = series([0], () => ({ listening: [{ port: 4444, uid: 2101, protocol: "tcp" as const }] }));
    assert.deepEqual(d.observe("i", s[0], [8080]).findings, []);
  });

  it("flags a process of the partition user that its supervisord did not start", () => {
    const d = new AnomalyDetector();
    const s = series([0], () => ({
      processes: [supd, proc({}), proc({ pid: 700, ppid: 1, comm: "miner" })],
    }));
    const f = d.observe("i", s[0], [8080]).findings;
    assert.deepEqual(
      f.map((x) => [x.kind, x.evidence.pid, x.evidence.comm]),
      [["unsupervised-process", 700, "miner"]],
    );
  });

  it("accepts grandchildren of the supervisord (a program that forks)", () => {
    const d = new AnomalyDetector();
    const s = series([0], () => ({ processes: [supd, proc({}), proc({ pid: 601, ppid: 600 })] }));
    assert.deepEqual(d.observe("i", s[0], [8080]).findings, []);
  });

  it("flags a program under the partition's supervisord running as another user", () => {
    const d = new AnomalyDetector();
    const s = series([0], () => ({ processes: [supd, proc({ uid: 0, euid: 0, comm: "sh" })] }));
    assert.deepEqual(
      d.observe("i", s[0], [8080]).findings.map((x) => x.kind),
      ["wrong-user"],
    );
  });

  it("reports the partition's usage: CPU, memory, processes and ports", () => {
    const d = new AnomalyDetector();
    const [a, b] = series([0, 0.5]);
    d.observe("i", a, [8080]);
    const u = d.observe("i", b, [8080]).usage;
    assert.deepEqual(u, {
      cpuCores: 0.5,
      rssBytes: 200 * 4096,
      processes: 2,
      listeningPorts: [{ port: 8080, protocol: "tcp" }],
    });
  });
});
