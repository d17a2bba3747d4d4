import { strict as assert } from "node:assert";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendHistory, loadHistory, parseSince } from "../../../lib/drift/history";
import type { RunRecord } from "../../../lib/drift/noise";
import { NOW } from "./fixtures";

const run = (i: number, findings = 0): RunRecord => ({
  at: new Date(NOW + i * 60_000).toISOString(),
  stacks: ["dc1"],
  servers: 1,
  findings: Array.from(
    { length: findings },
    (_, k) => ({ key: `k${k}`, stack: "dc1" }) as unknown as RunRecord["findings"][number],
  ),
});

describe("drift history store", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "zr-drift-history-"));

  it("keeps runs oldest first and reads them back", () => {
    const d = dir();
    for (const i of [2, 0, 1]) appendHistory(d, run(i));
    assert.deepEqual(
      loadHistory(d).map((r) => r.at),
      [0, 1, 2].map((i) => run(i).at),
    );
  });

  it("is bounded in count: the oldest runs go first", () => {
    const d = dir();
    for (let i = 0; i < 12; i++) appendHistory(d, run(i), { maxRuns: 5 });
    const kept = loadHistory(d);
    assert.equal(kept.length, 5);
    assert.equal(kept[0].at, run(7).at);
  });

  it("is bounded in bytes", () => {
    const d = dir();
    for (let i = 0; i < 10; i++) appendHistory(d, run(i, 200), { maxBytes: 20_000 });
    const files = readdirSync(d).filter((f) => f.startsWith("run-"));
    assert.ok(files.length < 10 && files.length >= 1, `${files.length} files`);
  });

  it("skips files that are not runs of this format (truncated, foreign, hostile)", () => {
    const d = dir();
    appendHistory(d, run(0));
    writeFileSync(join(d, "run-9999999999999-deadbeef.json"), "{ truncated");
    writeFileSync(join(d, "run-9999999999998-deadbeef.json"), JSON.stringify({ kind: "other", run: run(1) }));
    writeFileSync(
      join(d, "run-9999999999997-deadbeef.json"),
      JSON.stringify({ kind: "zeroroot.drift-run/v1", run: { at: 1 } }),
    );
    assert.equal(loadHistory(d).length, 1);
  });

  it("reads runs since a point in time", () => {
    const d = dir();
    for (let i = 0; i < 4; i++) appendHistory(d, run(i));
    assert.equal(loadHistory(d, NOW + 2 * 60_000).length, 2);
  });

  it("--since takes 7d, 24h, 90m or a date, and refuses anything else", () => {
    assert.equal(parseSince("7d", NOW), NOW - 7 * 86_400_000);
    assert.equal(parseSince("90m", NOW), NOW - 90 * 60_000);
    assert.equal(parseSince("2026-11-01", NOW), Date.parse("2026-11-01"));
    for (const bad of ["yesterday", "7w", "-1d", "2026-13-45", "1e9d"])
      assert.equal(parseSince(bad, NOW), undefined, bad);
  });
});
