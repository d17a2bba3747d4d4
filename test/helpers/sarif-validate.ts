/**
 * Microsoft's SARIF validator (npm @microsoft/sarif-multitool: a self-contained Linux binary in
 * @microsoft/sarif-multitool-linux; npm here blocks its install script, so its run bit is set here).
 * One definition for every test that checks a SARIF output (integration and lab tiers).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./cli-process";

export const MULTITOOL = join(REPO_ROOT, "node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");

/** Asserts the validator is installed and makes it executable. */
export function prepareSarifValidator(): void {
  assert.ok(existsSync(MULTITOOL), `${MULTITOOL} is installed (devDependency @microsoft/sarif-multitool)`);
  chmodSync(MULTITOOL, statSync(MULTITOOL).mode | 0o100);
}

/** Problems the validator reports at level error or warning (its default levels), one per line. */
export function validateSarif(file: string): { problems: string[]; status: number | null; all: string } {
  const out = join(mkdtempSync(join(tmpdir(), "zr-sarif-out-")), "validation.sarif");
  const r = spawnSync(MULTITOOL, ["validate", file, "--output", out, "--level", "Error;Warning"], {
    encoding: "utf8",
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: "1" },
    timeout: 120_000,
  });
  const all = `${r.stdout}${r.stderr}`;
  return {
    problems: all.split("\n").filter((l) => /\b(error|warning) (SARIF|ERR|WRN)\d*/.test(l)),
    status: r.status,
    all,
  };
}
