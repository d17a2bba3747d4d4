/**
 * `zeroroot drift` in-process over the example stacks, evaluated as `policy check` evaluates them,
 * with observations given as a file (`--observed`): exit codes, formats, history, and the stack
 * file lines findings point at. The live observers are H8's (lib/drift/observe) and their lab tests.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateStacks, select } from "../../../cli/commands/policy";
import { desiredServersOf, type DesiredServer } from "../../../lib/drift/desired";
import type { ObservedServer } from "../../../lib/drift/observed";
import { readStackFile } from "../../../lib/fleet";
import { runCli } from "../../helpers/cli";
import { copyExampleStacks } from "../../helpers/cli-process";
import { cleanObserved } from "./fixtures";

/** Where a live run reads its inputs from (docs/drift.md): cleared, so each case sees only its own. */
const INPUT_ENV = [
  "ZEROROOT_OPERATOR_CERT",
  "ZEROROOT_OPERATOR_KEY",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
  "ZEROROOT_DRIFT_STATE_DIR",
  "ZEROROOT_DRIFT_BMC_NETNS",
  "ZEROROOT_RELEASES_DIR",
];
/** A live run's certificate options (the files are read only after every other local input). */
const LIVE = ["--cert", "/nonexistent/operator.crt", "--key", "/nonexistent/operator.key"];

describe("zeroroot drift (observations from a file)", function () {
  this.timeout(120_000);
  let dir: string;
  let desired: DesiredServer[];
  const tmp = () => mkdtempSync(join(tmpdir(), "zr-drift-cli-"));
  const observedFile = (servers: ObservedServer[]) => {
    const f = join(tmp(), "observed.json");
    writeFileSync(f, JSON.stringify({ servers }));
    return f;
  };
  const clean = () => desired.map((d) => cleanObserved(d, Date.now()));
  const drift = (args: string[]) => runCli(["drift", "--dir", dir, ...args], { cwd: dir });

  before(async () => {
    dir = copyExampleStacks("zr-drift-");
    const sel = select({ stack: "dc1", dir });
    const { evaluated } = await evaluateStacks(sel.targets, sel.files);
    desired = evaluated.flatMap((e) =>
      desiredServersOf(readStackFile(e.file), e.evaluation.resources, e.file),
    );
  });

  it("reads what dc1 wants of each server from its stack: power, boot device, instances, config lines", () => {
    assert.deepEqual(
      desired.map((d) => d.server),
      ["dc1-s01", "dc1-s02", "dc1-s03", "dc1-c01", "dc1-c02"],
    );
    // dc1-s01 runs the PostgreSQL primary and dc1's Galera member
    const s01 = desired[0];
    const lines = readFileSync(join(dir, "Pulumi.dc1.yaml"), "utf8").split("\n");
    assert.equal(lines[s01.location.line! - 1].trim(), "- id: dc1-s01");
    assert.equal(s01.power, "on");
    assert.equal(s01.bootDevice, "disk");
    assert.deepEqual(
      s01.instances.map((i) => `${i.name} ${i.release.name}`),
      ["postgresql postgresql", "galera mariadb-galera"],
    );
    assert.match(lines[s01.instances[0].endpoints[0].location.line! - 1], /port: 5432/);
    assert.equal(s01.firewall?.inputPolicy, "drop");
    assert.ok(s01.controlPlaneEndpoints.length >= 1);
  });

  it("exits 0 with 'OK: no drift' when every server is as its stack wants", async () => {
    const r = await drift(["--stack", "dc1", "--observed", observedFile(clean()), "--no-history"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^OK: no drift$/m);
  });

  it("exits 2 on drift; SARIF points at the stack file line of the server whose boot device changed", async () => {
    const obs = clean();
    obs[1] = { ...obs[1], bmc: { power: "on", bootDevice: "pxe" } };
    const r = await drift([
      "--stack",
      "dc1",
      "--observed",
      observedFile(obs),
      "--no-history",
      "--format",
      "sarif",
    ]);
    assert.equal(r.code, 2, r.err);
    const log = JSON.parse(r.out) as {
      runs: {
        results: {
          ruleId: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    const [res] = log.runs[0].results;
    assert.equal(res.ruleId, "ZR2002");
    assert.equal(res.locations[0].physicalLocation.region.startLine, desired[1].location.line);
    assert.equal(res.locations[0].physicalLocation.artifactLocation.uri.endsWith("Pulumi.dc1.yaml"), true);
  });

  it("keeps a history: the second run calls the finding ongoing since the first; --since shows the runs", async () => {
    const history = join(tmp(), "history");
    const obs = clean();
    obs[0] = { ...obs[0], bmc: { power: "off", bootDevice: "disk" } };
    const file = observedFile(obs);
    const first = await drift([
      "--stack",
      "dc1",
      "--observed",
      file,
      "--history",
      history,
      "--format",
      "json",
    ]);
    const second = await drift([
      "--stack",
      "dc1",
      "--observed",
      file,
      "--history",
      history,
      "--format",
      "json",
      "--since",
      "1d",
    ]);
    assert.equal(second.code, 2);
    const a = JSON.parse(first.out) as { findings: { status: string; since: string }[] };
    const b = JSON.parse(second.out) as { findings: { status: string; since: string }[]; history: unknown[] };
    assert.equal(a.findings[0].status, "new");
    assert.equal(b.findings[0].status, "ongoing");
    assert.equal(b.findings[0].since, a.findings[0].since);
    assert.equal(b.history.length, 2);
  });

  it("--format html --out writes one self-contained page with the fleet table and the chart", async () => {
    const out = join(tmp(), "drift.html");
    const r = await drift([
      "--all",
      "--observed",
      observedFile(clean()),
      "--no-history",
      "--format",
      "html",
      "--out",
      out,
    ]);
    assert.equal(r.code, 2, "dc2 and dc3 servers were not observed: unreadable, never clean");
    assert.equal(r.out, "");
    const html = readFileSync(out, "utf8");
    for (const dc of ["dc1", "dc2", "dc3"])
      assert.match(html, new RegExp(`<section class="data-center" id="dc-${dc}">`));
    assert.match(html, /<svg id="findings-chart"/);
  });

  const errors: [string, () => string[], RegExp][] = [
    [
      "an unknown format",
      () => ["--stack", "dc1", "--format", "xml"],
      /--format xml: allowed: text, json, sarif, html/,
    ],
    ["no stack chosen", () => ["--format", "text"], /give --stack <name> or --all/],
    [
      "a malformed --since",
      () => ["--stack", "dc1", "--since", "last tuesday"],
      /--since "last tuesday": allowed/,
    ],
    [
      "observations that are not JSON",
      () => ["--stack", "dc1", "--observed", textFile("{ nope")],
      /not JSON/,
    ],
    [
      "observations of the wrong shape (a hostile collector)",
      () => [
        "--stack",
        "dc1",
        "--observed",
        textFile(JSON.stringify({ servers: [{ server: "x".repeat(10_000) }] })),
      ],
      /\.servers\[0\]\.\w+: .*allowed: \{ "servers"/,
    ],
    ["no operator certificate for a live run", () => ["--stack", "dc1"], /give --cert and --key/],
    // A live run names each missing local input before it asks anything of the network.
    [
      "stacks whose BMC passwords are secrets and no stack passphrase",
      () => ["--stack", "dc1", ...LIVE],
      /Pulumi\.dc1\.yaml: its BMC passwords are secrets: set PULUMI_CONFIG_PASSPHRASE_FILE .* or give --no-bmc/,
    ],
    [
      "a --state directory that does not exist",
      () => ["--stack", "dc1", ...LIVE, "--state", "/nonexistent/state"],
      /--state \/nonexistent\/state: no such directory/,
    ],
    [
      "a --bmc-netns that is not <data center>=<namespace>",
      () => ["--stack", "dc1", ...LIVE, "--no-bmc", "--bmc-netns", "dc1"],
      /--bmc-netns "dc1": not <data center>=<namespace>; allowed: /,
    ],
    [
      "a --bmc-netns naming something that is not a namespace",
      () => ["--stack", "dc1", ...LIVE, "--no-bmc", "--bmc-netns", "dc1=../../x"],
      /--bmc-netns "dc1=..\/..\/x": not a namespace name/,
    ],
    [
      "a --releases directory that does not exist",
      () => ["--stack", "dc1", "--releases", "/nonexistent/releases"],
      /--releases \/nonexistent\/releases: no such directory/,
    ],
  ];
  function textFile(text: string): string {
    const f = join(tmp(), "observed.json");
    writeFileSync(f, text);
    return f;
  }
  for (const [name, args, message] of errors)
    it(`exits 1 (never 2, which means drift) on ${name}`, async () => {
      const saved = Object.fromEntries(INPUT_ENV.map((k) => [k, process.env[k]]));
      for (const k of INPUT_ENV) delete process.env[k];
      try {
        const r = await drift(args());
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.err, message);
        assert.doesNotMatch(r.err, /\n\s+at \S+ \(/, "no stack trace");
      } finally {
        for (const k of INPUT_ENV) if (saved[k] !== undefined) process.env[k] = saved[k];
      }
    });

  it("exits 1 naming the file and line when zeroroot:drift asks to fence on a check the platform fixes itself", async () => {
    const copy = copyExampleStacks("zr-drift-bad-");
    const file = join(copy, "Pulumi.dc1.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "config:\n",
        "config:\n  zeroroot:drift:\n    fence: [boot-device]\n",
      ),
    );
    const r = await runCli(
      ["drift", "--dir", copy, "--stack", "dc1", "--observed", observedFile(clean()), "--no-history"],
      { cwd: copy },
    );
    assert.equal(r.code, 1, r.out + r.err);
    const line = readFileSync(file, "utf8").split("\n").indexOf("    fence: [boot-device]") + 1;
    assert.match(r.err, new RegExp(`Pulumi\\.dc1\\.yaml:${line}: zeroroot:drift\\.fence`));
    assert.ok(existsSync(file));
  });
});
