/**
 * The Lynis side of the hardening, without Lynis: the report reader (with hostile reports), the
 * project profile, the justification table of docs/hardening.md, and the rendered settings in the
 * exact form Lynis 3.0.8's tests look for (the lab tier runs Lynis itself: test/lab/image/lynis.test.ts).
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderModprobe, renderSysctl, resolveHardenedImageSpec } from "../../../lib/hardening";
import {
  justifiedTestIds,
  LynisReportError,
  LYNIS_SKIPPED_TESTS,
  MAX_REPORT_BYTES,
  parseLynisReport,
  pointsByTest,
  renderLynisProfile,
  unjustifiedFindings,
} from "../../../lib/hardening/lynis";

const docs = readFileSync(join(__dirname, "../../../docs/hardening.md"), "utf8");

const REPORT = [
  "# Lynis Report",
  "lynis_version=3.0.8",
  "lynis_tests_done=211",
  "tests_executed=AUTH-9286|FILE-6310|NAME-4028|",
  "suggestion[]=FILE-6310|To decrease the impact of a full /var file system, place /var on a separate partition|-|-|",
  "suggestion[]=NAME-4408|Split resolving between localhost and the hostname of the system|/etc/hosts|text:Check your localhost line|",
  "warning[]=LOGG-2138|klogd is not running, which could lead to missing kernel messages in log files|-|-|",
  "hardening_index=93",
  "",
].join("\n");

function refusedReport(text: string): LynisReportError {
  try {
    parseLynisReport(text);
  } catch (e) {
    assert.ok(e instanceof LynisReportError, `expected LynisReportError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the report to be refused");
}

describe("Lynis report reader", () => {
  it("reads the index, the version, the tests run and every suggestion and warning with its test id", () => {
    const r = parseLynisReport(REPORT);
    assert.equal(r.hardeningIndex, 93);
    assert.equal(r.lynisVersion, "3.0.8");
    assert.equal(r.testsPerformed, 211);
    assert.deepEqual(r.testsExecuted, ["AUTH-9286", "FILE-6310", "NAME-4028"]);
    assert.deepEqual(
      r.suggestions.map((s) => [s.id, s.details]),
      [
        ["FILE-6310", "-"],
        ["NAME-4408", "/etc/hosts"],
      ],
    );
    assert.deepEqual(
      r.warnings.map((w) => w.id),
      ["LOGG-2138"],
    );
  });

  const hostile: [string, string, RegExp][] = [
    [
      "no hardening index (an audit that stopped early)",
      REPORT.replace(/hardening_index=.*\n/, ""),
      /missing/,
    ],
    ["an index above 100", REPORT.replace("hardening_index=93", "hardening_index=101"), /"101"/],
    ["a negative index", REPORT.replace("hardening_index=93", "hardening_index=-1"), /"-1"/],
    [
      "an index with trailing text",
      REPORT.replace("hardening_index=93", "hardening_index=93 (good)"),
      /93 \(good\)/,
    ],
    ["an empty index", REPORT.replace("hardening_index=93", "hardening_index="), /""/],
    [
      "a suggestion whose test id is a shell command",
      REPORT.replace("suggestion[]=FILE-6310", "suggestion[]=$(rm -rf /)"),
      /line 5: suggestion\[\] has test id "\$\(rm -rf \/\)"/,
    ],
    [
      "a warning without a test id",
      REPORT.replace("warning[]=LOGG-2138", "warning[]="),
      /warning\[\] has test id ""/,
    ],
    ["more bytes than any audit writes", `${REPORT}#${"x".repeat(MAX_REPORT_BYTES)}`, /bytes/],
    [
      "more findings than any audit produces",
      REPORT + "suggestion[]=FILE-6310|x|-|-|\n".repeat(1001),
      /more than 1000 findings/,
    ],
  ];
  for (const [what, text, message] of hostile) {
    it(`refuses a report with ${what}, saying what it found`, () => {
      assert.match(refusedReport(text).message, message);
    });
  }

  it("names a finding whose test id has no reason in the table, and passes one that has", () => {
    const r = parseLynisReport(REPORT);
    const table =
      "| test | why |\n|---|---|\n| FILE-6310 | disks |\n| NAME-4408, LOGG-2138 | installer; no syslog |\n";
    assert.deepEqual(unjustifiedFindings(r, justifiedTestIds(table)), []);
    assert.deepEqual(
      unjustifiedFindings(r, justifiedTestIds("| FILE-6310 | disks |\n")).map((f) => f.id),
      ["LOGG-2138", "NAME-4408"],
    );
  });

  it("does not take a table row without a reason as a justification", () => {
    assert.equal(justifiedTestIds("| FILE-6310 |  |\n| NAME-4408 | --- |\n").size, 0);
  });
});

describe("Lynis profile of the project", () => {
  it("skips exactly the listed tests, and the upgrade check (the auditor's age is no property of the image)", () => {
    const lines = renderLynisProfile().split("\n");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("skip-test=")).map((l) => l.slice("skip-test=".length)),
      [...LYNIS_SKIPPED_TESTS],
    );
    assert.ok(lines.includes("skip-upgrade-test=yes"));
  });

  for (const bad of ["AUTH-9262\nskip-test=FILE-6310", "auth-9262", "AUTH-9262 ", "*"]) {
    it(`refuses to write a skip for ${JSON.stringify(bad)} (one id per line, nothing else reaches Lynis)`, () => {
      assert.throws(() => renderLynisProfile([bad]), LynisReportError);
    });
  }

  it("has a reason in docs/hardening.md for every skipped test", () => {
    const justified = justifiedTestIds(docs);
    assert.deepEqual(
      LYNIS_SKIPPED_TESTS.filter((id) => !justified.has(id)),
      [],
      "add a row `| ID | reason |` to the Lynis table of docs/hardening.md",
    );
  });

  it("does not skip a test the image passes or that the hardening addresses", () => {
    for (const id of [
      "AUTH-9230",
      "AUTH-9286",
      "AUTH-9328",
      "KRNL-5820",
      "NETW-3200",
      "USB-1000",
      "STRG-1846",
      "SHLL-6220",
      "BANN-7126",
      "HRDN-7220",
      "FIRE-4590",
      "FILE-7524",
    ])
      assert.equal(LYNIS_SKIPPED_TESTS.includes(id), false, id);
  });
});

describe("rendered settings, in the form Lynis 3.0.8 recognises", () => {
  const spec = resolveHardenedImageSpec();

  it("disables dccp, sctp, rds, tipc, usb-storage and firewire with `install X /bin/true` (NETW-3200, USB-1000, STRG-1846)", () => {
    const text = renderModprobe(spec.modprobeDisabled);
    for (const m of ["dccp", "sctp", "rds", "tipc", "usb-storage", "firewire-core"]) {
      assert.match(text, new RegExp(`^install +${m} +/bin/true$`, "m"), m);
      assert.match(text, new RegExp(`^blacklist ${m}$`, "m"), m);
    }
  });

  it("turns core dumps off three ways: limits, profile and kernel (KRNL-5820)", () => {
    assert.match(spec.limits, /^\* hard core 0$/m);
    assert.match(spec.shellProfile, /^ulimit -c 0$/m);
    const sysctl = renderSysctl(spec.sysctl);
    assert.match(sysctl, /^fs\.suid_dumpable = 0$/m);
    assert.match(sysctl, /^kernel\.core_pattern = \|\/bin\/false$/m);
  });

  it("closes an idle shell after 10 minutes with a read-only TMOUT and sets umask 027 (SHLL-6220, AUTH-9328)", () => {
    assert.match(spec.shellProfile, /^TMOUT=600$/m);
    assert.match(spec.shellProfile, /^readonly TMOUT$/m);
    assert.match(spec.shellProfile, /^umask 027$/m);
    assert.equal(spec.loginDefs.UMASK, "027");
  });

  it("renders the kernel settings a real machine applies, none of them allowing redirects, source routes or unprivileged BPF", () => {
    for (const [k, v] of Object.entries({
      "kernel.kptr_restrict": "2",
      "kernel.unprivileged_bpf_disabled": "1",
      "kernel.yama.ptrace_scope": "2",
      "kernel.randomize_va_space": "2",
      "net.ipv4.conf.all.accept_redirects": "0",
      "net.ipv4.conf.all.accept_source_route": "0",
      "net.ipv6.conf.all.accept_source_route": "0",
      "net.ipv4.tcp_syncookies": "1",
    }))
      assert.equal(spec.sysctl[k], v, k);
  });

  it("keeps usrmerge and the full Perl out, unless a caller asks for perl by name", () => {
    assert.deepEqual([...spec.unwantedPackages].sort(), ["perl", "usrmerge"]);
    assert.deepEqual(resolveHardenedImageSpec({ extraPackages: ["perl"] }).unwantedPackages, ["usrmerge"]);
  });
});

describe("Lynis points per test", () => {
  it("sums partial and full awards per test from lynis.log, in the order the tests ran", () => {
    const log = [
      "2026-12-01 14:43:22 Performing test ID DEB-0280 (Checking if libpam-tmpdir is installed and enabled.)",
      "2026-12-01 14:43:23 Hardening: assigned partial number of hardening points (0 of 2). Currently having 0 points (out of 2)",
      "2026-12-01 14:43:24 Performing test ID KRNL-5820 (Checking core dumps configuration)",
      "2026-12-01 14:43:24 Hardening: assigned partial number of hardening points (0 of 1). Currently having 3 points (out of 13)",
      "2026-12-01 14:43:24 Hardening: assigned maximum number of hardening points for this item (3). Currently having 6 points (out of 16)",
      "2026-12-01 14:43:25 Hardening: assigned garbage",
    ].join("\n");
    assert.deepEqual(pointsByTest(log), [
      { id: "DEB-0280", earned: 0, max: 2 },
      { id: "KRNL-5820", earned: 3, max: 4 },
    ]);
    assert.deepEqual(
      pointsByTest("Hardening: assigned maximum number of hardening points for this item (3)"),
      [],
    );
  });
});
