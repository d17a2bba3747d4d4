/**
 * The HTML drift report as a person opens it: Debian's chromium, headless, renders the file (no
 * network, no script), takes a screenshot, and dumps the DOM it built. The page must show the fleet
 * table per data center and the chart of findings over time, and nothing an agent reported may
 * have become markup.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatHtml } from "../../../lib/drift/html";
import { judgeFleet, recordOf, type DriftRun } from "../../../lib/drift/judge";
import type { RunRecord } from "../../../lib/drift/noise";
import { cleanObserved, desiredServer, NOW } from "../../unit/drift/fixtures";

const CHROMIUM = "/usr/bin/chromium";
const MIN15 = 900_000;

/** Eight runs 15 minutes apart over two data centers: a flapping boot device, then a dead agent. */
function runs(): DriftRun {
  const ds = [
    desiredServer("dc1-s01"),
    desiredServer("dc1-s02"),
    { ...desiredServer("dc2-s01"), dataCenter: "dc2", stack: "dc2" },
  ];
  const history: RunRecord[] = [];
  let last: DriftRun | undefined;
  for (let i = 0; i < 8; i++) {
    const obs = ds.map((d) => cleanObserved(d, NOW + i * MIN15));
    if (i % 3 === 0) obs[0] = { ...obs[0], bmc: { power: "on", bootDevice: "pxe" } };
    if (i > 4) obs[2] = { ...obs[2], report: { error: `<img src=x onerror="document.title='owned'">` } };
    last = judgeFleet(ds, obs, { now: NOW + i * MIN15, stacks: ["dc1", "dc2"], history: [...history] });
    history.push(recordOf(last, 100));
  }
  return last!;
}

const chromium = (args: string[]) =>
  spawnSync(
    CHROMIUM,
    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", ...args],
    {
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );

describe("the HTML drift report in a headless browser (Debian chromium)", function () {
  this.timeout(240_000);
  let page: string;
  let dir: string;

  before(function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (Debian package chromium)`);
    dir = mkdtempSync(join(tmpdir(), "zr-drift-html-"));
    page = join(dir, "drift.html");
    writeFileSync(page, formatHtml(runs()));
  });

  it("renders a screenshot of plausible size", () => {
    const png = join(dir, "drift.png");
    const r = chromium(["--window-size=1280,1400", `--screenshot=${png}`, `file://${page}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(png), r.stderr);
    const bytes = readFileSync(png);
    assert.equal(bytes.subarray(1, 4).toString("latin1"), "PNG");
    assert.equal(bytes.readUInt32BE(16), 1280, "width");
    assert.equal(bytes.readUInt32BE(20), 1400, "height");
    // A blank page of that size compresses to a few KB; tables, text and a chart do not.
    assert.ok(statSync(png).size > 30_000, `${statSync(png).size} bytes`);
  });

  it("the DOM chromium built holds a fleet table per data center and the chart's SVG, and no injected element", () => {
    const r = chromium(["--dump-dom", `file://${page}`]);
    assert.equal(r.status, 0, r.stderr);
    const dom = r.stdout;
    assert.equal((dom.match(/<table class="fleet">/g) ?? []).length, 2);
    assert.match(dom, /<section class="data-center" id="dc-dc1">/);
    assert.match(dom, /<section class="data-center" id="dc-dc2">/);
    assert.match(dom, /<svg id="findings-chart"[^>]*>[\s\S]*<polyline class="series-total"[\s\S]*<\/svg>/);
    assert.equal((dom.match(/<circle /g) ?? []).length >= 8, true, "a point per run");
    assert.doesNotMatch(dom, /<img/i, "the agent's report did not become an element");
    assert.match(dom, /<title>zeroroot drift /, "the title was not changed by injected script");
    assert.match(dom, /flapping/);
  });
});
