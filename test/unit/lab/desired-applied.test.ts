/**
 * `lab up` waits until every agent applied the document its stack published (desired-applied.ts):
 * the judgement is a pure function of the control plane's values, read here from a table.
 */
import { strict as assert } from "node:assert";
import { keys } from "../../../lib/controlplane/keys";
import { desiredAppliedProblems } from "../../../lab/orchestrate/desired-applied";

const published = (v: number) => JSON.stringify({ document: { version: v }, signature: "…" });
const report = (v: number | null, instances: { name: string; phase: string }[] = []) =>
  JSON.stringify({ desired: v === null ? null : { version: v, digest: "d" }, instances });

type Rel = { name: string; version: string; manifestDigest: string };
const rel = (name: string, version: string, digest: string): Rel => ({
  name,
  version,
  manifestDigest: `sha256:${digest}`,
});
const withInstances = (v: number, instances: [string, Rel][]) =>
  JSON.stringify({
    document: { version: v, instances: instances.map(([name, release]) => ({ name, release })) },
  });
const reportWith = (v: number, instances: [string, string, Rel][]) =>
  JSON.stringify({
    desired: { version: v, digest: "d" },
    instances: instances.map(([name, phase, release]) => ({ name, phase, release })),
  });

describe("lab up: desired state applied by every agent", () => {
  const cases: { name: string; values: [string, string][]; want: string[] }[] = [
    {
      name: "applied, every instance running: nothing left",
      values: [
        [keys.desired("s1"), published(3)],
        [keys.status("s1"), report(3, [{ name: "echo", phase: "running" }])],
      ],
      want: [],
    },
    { name: "no document published: nothing to apply", values: [], want: [] },
    {
      name: "no report yet",
      values: [[keys.desired("s1"), published(1)]],
      want: ["s1: its agent has not reported yet (desired state version 1)"],
    },
    {
      name: "the agent keeps the last applied state (no freshness statement yet)",
      values: [
        [keys.desired("s1"), published(2)],
        [keys.status("s1"), report(1)],
      ],
      want: ["s1: applied desired state version 1, published 2"],
    },
    {
      name: "nothing applied at all",
      values: [
        [keys.desired("s1"), published(1)],
        [keys.status("s1"), report(null)],
      ],
      want: ["s1: applied desired state version none, published 1"],
    },
    {
      name: "applied, one instance stopped after an anomaly",
      values: [
        [keys.desired("s1"), published(1)],
        [keys.status("s1"), report(1, [{ name: "echo", phase: "stopped" }])],
      ],
      want: ["s1: instance echo is stopped"],
    },
    {
      name: "applied, an instance removed from the desired state and retained for its persistence window",
      values: [
        [keys.desired("s1"), published(2)],
        [keys.status("s1"), report(2, [{ name: "old", phase: "retained" }])],
      ],
      want: [],
    },
    {
      name: "applied, but an instance kept on its old release (the agent refused the new one)",
      values: [
        [keys.desired("s1"), withInstances(4, [["galera", rel("mariadb-galera", "10.11.6", "b")]])],
        [keys.status("s1"), reportWith(4, [["galera", "running", rel("mariadb-galera", "10.11.4", "a")]])],
      ],
      want: [
        "s1: instance galera runs mariadb-galera@10.11.4, its desired state names mariadb-galera@10.11.6 (the agent refused it: see its alerts in lab status or zeroroot drift)",
      ],
    },
    {
      name: "applied, same name and version but another manifest digest",
      values: [
        [keys.desired("s1"), withInstances(4, [["echo", rel("lab-echo", "1.0.0", "new")]])],
        [keys.status("s1"), reportWith(4, [["echo", "running", rel("lab-echo", "1.0.0", "old")]])],
      ],
      want: [
        "s1: instance echo runs lab-echo@1.0.0, its desired state names lab-echo@1.0.0 (the agent refused it: see its alerts in lab status or zeroroot drift)",
      ],
    },
    {
      name: "applied, a desired instance the agent does not report",
      values: [
        [keys.desired("s1"), withInstances(4, [["echo", rel("lab-echo", "1.0.0", "a")]])],
        [keys.status("s1"), reportWith(4, [])],
      ],
      want: ["s1: instance echo is not reported by its agent"],
    },
    {
      name: "applied, every instance on the release its document names",
      values: [
        [keys.desired("s1"), withInstances(4, [["echo", rel("lab-echo", "1.0.0", "a")]])],
        [keys.status("s1"), reportWith(4, [["echo", "running", rel("lab-echo", "1.0.0", "a")]])],
      ],
      want: [],
    },
    {
      name: "a report that is not JSON",
      values: [
        [keys.desired("s1"), published(1)],
        [keys.status("s1"), "{not json"],
      ],
      want: ["s1: its agent's report is not JSON"],
    },
    {
      name: "a version that is a string is not a version",
      values: [
        [keys.desired("s1"), published(1)],
        [keys.status("s1"), JSON.stringify({ desired: { version: "1" } })],
      ],
      want: ["s1: applied desired state version none, published 1"],
    },
  ];
  for (const c of cases)
    it(c.name, () => assert.deepEqual(desiredAppliedProblems(["s1"], new Map(c.values)), c.want));

  it("judges every server, not only the first with a problem", () => {
    const values = new Map([
      [keys.desired("a"), published(1)],
      [keys.desired("b"), published(1)],
    ]);
    assert.equal(desiredAppliedProblems(["a", "b"], values).length, 2);
  });
});
