import { strict as assert } from "node:assert";
import { ALL_CHECKS } from "../../../lib/drift/checks";
import { compareServer } from "../../../lib/drift/compare";
import { OBSERVATION_LIMITS } from "../../../lib/drift/bounds";
import { FINDING_LIMITS } from "../../../lib/drift/findings";
import { formatHtml } from "../../../lib/drift/html";
import { judgeFleet, recordOf } from "../../../lib/drift/judge";
import type { ObservedServer } from "../../../lib/drift/observed";
import { formatJson, formatText } from "../../../lib/drift/report";
import { driftSarif } from "../../../lib/drift/sarif";
import { SARIF_RULE_IDS } from "../../../lib/sarif/rule-ids";
import { policies } from "../../../policies/policies";
import { cleanObserved, desiredServer, NOW, withProbes, withReport } from "./fixtures";

const d = desiredServer();
const HOSTILE = `<script>alert(1)</script><img src=x onerror=alert(2)>\u001b[31mRED\u001b[0m\nFAKE: OK no drift\u202e`;

function hostileRun() {
  const o = withReport(d, (r) => ({
    ...r,
    instances: [...r.instances, { ...r.instances[0], name: HOSTILE }],
    alerts: [{ kind: HOSTILE, severity: "critical", at: HOSTILE, detail: HOSTILE.repeat(5_000) }],
  }));
  const p = withProbes(d, (x) => ({ ...x, ssh: [{ port: 22, outcome: "accepted", detail: HOSTILE }] }));
  return judgeFleet([d], [{ ...o, probes: p.probes }], { now: NOW, stacks: ["dc1"] });
}

describe("drift reports", () => {
  it("HTML escapes everything an agent reported: no markup from a report reaches the page", () => {
    const html = formatHtml(hostileRun());
    assert.ok(!html.includes("<script>alert"), "no script element from the report");
    assert.ok(!html.includes("<img src=x"), "no element from the report");
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.ok(!/<script/i.test(html), "the page has no script at all");
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.ok(!/(src|href)=["']?https?:/i.test(html), "no external asset");
  });

  it("text escapes control characters: a report cannot forge lines or colour the terminal", () => {
    const text = formatText(hostileRun());
    assert.ok(!text.includes("\u001b"), "no escape character");
    assert.ok(!text.includes("\u202e"), "no bidi override");
    assert.ok(!/^FAKE: OK/m.test(text), "no forged line");
    assert.match(text, /^DRIFT: \d+ finding\(s\)$/m);
  });

  it("an untrusted value is cut to a bound (a 1 MB alert detail prints as a few hundred characters)", () => {
    const run = hostileRun();
    const alert = run.findings.find((f) => f.check === "agent-alert")!;
    assert.ok(alert.observed.length < FINDING_LIMITS.textChars + 40, `${alert.observed.length}`);
    assert.match(alert.observed, /… \(\d+ characters\)$/);
    assert.ok(formatJson(run).length < 200_000);
  });

  it("counts are bounded: a report of 100,000 processes is cut and the cut is a finding", () => {
    const many = withReport(d, (r) => ({
      ...r,
      host: {
        ...r.host,
        processes: Array.from({ length: 100_000 }, (_, i) => ({
          pid: i + 2,
          name: "x",
          uid: 0,
          capabilities: [],
          noNewPrivileges: true,
        })),
      },
    }));
    const fs = compareServer(d, many, NOW);
    assert.ok(fs.length <= FINDING_LIMITS.findingsPerServer);
    assert.ok(
      fs.some(
        (f) => f.check === "source-unreadable" && /100000 processes; only the first 20000/.test(f.message),
      ),
    );
    assert.ok(fs.some((f) => f.subject === "(more)"));
    assert.equal(OBSERVATION_LIMITS.processes, 20_000);
  });

  it("text: one table row per finding with rule, opaque id, observed, desired and since; OK when clean", () => {
    const run = judgeFleet([d], [{ ...cleanObserved(d), bmc: { power: "on", bootDevice: "pxe" } }], {
      now: NOW,
      stacks: ["dc1"],
    });
    const text = formatText(run);
    assert.match(
      text,
      /^SEVERITY\s+STATUS\s+STACK\s+SERVER\s+RULE\s+ID\s+SUBJECT\s+OBSERVED\s+DESIRED\s+SINCE$/m,
    );
    assert.match(
      text,
      /^high\s+new\s+dc1\s+dc1-s01\s+boot-device\s+ZR2002\s+boot device\s+pxe\s+disk\s+2026-12-01T12:00:00.000Z$/m,
    );
    assert.match(text, /config:\s+stacks\/Pulumi\.dc1\.yaml:21 zeroroot:dataCenter\.servers\[0\]/);
    const clean = formatText(judgeFleet([d], [cleanObserved(d)], { now: NOW, stacks: ["dc1"] }));
    assert.match(clean, /^OK: no drift$/m);
  });

  it("JSON carries findings, servers and the history timeline", () => {
    const first = judgeFleet([d], [cleanObserved(d)], { now: NOW - 900_000, stacks: ["dc1"] });
    const run = judgeFleet([d], [{ ...cleanObserved(d), bmc: { power: "off", bootDevice: "disk" } }], {
      now: NOW,
      stacks: ["dc1"],
      history: [recordOf(first, 10)],
    });
    const doc = JSON.parse(formatJson(run)) as {
      ok: boolean;
      findings: { check: string }[];
      history: { total: number }[];
    };
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.findings.map((f) => f.check),
      ["power-state"],
    );
    assert.deepEqual(
      doc.history.map((h) => h.total),
      [0, 1],
    );
  });

  it("HTML: a fleet table per data center and an inline SVG chart of findings over time", () => {
    const d2 = { ...desiredServer("dc2-s01"), dataCenter: "dc2", stack: "dc2" };
    const run = judgeFleet([d, d2], [cleanObserved(d), { ...cleanObserved(d2), bmc: { error: "timeout" } }], {
      now: NOW,
      stacks: ["dc1", "dc2"],
    });
    const html = formatHtml(run);
    assert.equal((html.match(/<section class="data-center"/g) ?? []).length, 2);
    assert.match(html, /<table class="fleet">/);
    assert.match(html, /<svg id="findings-chart"[^>]*>.*<polyline class="series-total"/s);
    assert.match(html, /No drift in dc1/);
  });

  it("SARIF: every result at its config line, opaque rule ids distinct from names, one fingerprint per finding", () => {
    const run = judgeFleet(
      [d],
      [withProbes(d, (p) => ({ ...p, tls: [{ ...p.tls[0], demandsClientCertificate: false }] }))],
      {
        now: NOW,
        stacks: ["dc1"],
      },
    );
    const log = driftSarif(run) as {
      runs: {
        tool: { driver: { rules: { id: string; name: string }[] } };
        results: {
          ruleId: string;
          locations: {
            physicalLocation: { region: { startLine: number }; artifactLocation: { uri: string } };
          }[];
        }[];
      }[];
    };
    const [r] = log.runs[0].results;
    assert.equal(r.ruleId, "ZR2013");
    assert.equal(r.locations[0].physicalLocation.region.startLine, 86, "the endpoint's line");
    assert.equal(r.locations[0].physicalLocation.artifactLocation.uri, "stacks/Pulumi.dc1.yaml");
    for (const rule of log.runs[0].tool.driver.rules)
      assert.notEqual(rule.id.toLowerCase(), rule.name.toLowerCase());
  });

  it("every check of drift and every policy of the pack has its own opaque SARIF id", () => {
    const names = [...ALL_CHECKS.map((c) => c.name), ...policies.map((p) => p.name)];
    for (const n of names) assert.match(SARIF_RULE_IDS[n] ?? "", /^ZR\d{4}$/, n);
    const ids = Object.values(SARIF_RULE_IDS);
    assert.equal(new Set(ids).size, ids.length, "no id used twice");
  });
});

export type { ObservedServer };
