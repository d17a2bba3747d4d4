import { strict as assert } from "node:assert";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkStackFiles, formatIssues, stackFilesIn } from "../../../lib/fleet";

const STACKS = join(__dirname, "../../../stacks");

/** A copy of the example stack directory, with text edits to some files. */
function fleetWith(edits: Record<string, (text: string) => string>): string {
  const dir = mkdtempSync(join(tmpdir(), "zr-fleet-"));
  cpSync(STACKS, dir, { recursive: true, filter: (src) => !src.endsWith(".ts") });
  for (const [name, edit] of Object.entries(edits)) {
    const file = join(dir, `Pulumi.${name}.yaml`);
    const before = readFileSync(file, "utf8");
    const after = edit(before);
    assert.notEqual(after, before, `edit of ${name} changed nothing`);
    writeFileSync(file, after);
  }
  return dir;
}

const check = (dir: string) => checkStackFiles(stackFilesIn(dir), { cwd: dir });

describe("fleet-wide checks", () => {
  it("find nothing wrong with the example fleet", () => {
    const { stacks, fleetIssues } = check(STACKS);
    assert.equal(stacks.length, 4);
    assert.deepEqual(fleetIssues, [], formatIssues(fleetIssues));
  });

  it("refuse a MAC used in two data centers, naming both files and key paths", () => {
    const { fleetIssues } = check(
      fleetWith({ dc2: (t) => t.replace('macs: ["52:54:00:02:01:11"]', 'macs: ["52:54:00:01:01:11"]') }),
    );
    assert.equal(fleetIssues.length, 1, formatIssues(fleetIssues));
    const [i] = fleetIssues;
    assert.equal(i.file, "Pulumi.dc2.yaml");
    assert.equal(i.path, "zeroroot:dataCenter.servers[0].macs[0]");
    assert.match(i.received, /Pulumi\.dc1\.yaml: zeroroot:dataCenter\.servers\[0\]\.macs\[0\]/);
    assert.ok((i.line ?? 0) > 0);
  });

  it("refuse overlapping networks across data centers", () => {
    const { fleetIssues } = check(
      fleetWith({
        dc3: (t) => t.replaceAll("10.78.3.", "10.78.2.").replaceAll("10.77.3.", "10.77.9."),
      }),
    );
    assert.ok(
      fleetIssues.some(
        (i) =>
          i.path === "zeroroot:dataCenter.dataNetworks[0].cidr" &&
          /overlaps 10\.78\.2\.0\/24/.test(i.received),
      ),
      formatIssues(fleetIssues),
    );
  });

  it("refuse a fleet with storage in fewer than three data centers", () => {
    const { fleetIssues } = check(
      fleetWith({ dc3: (t) => t.replaceAll("roles: [storage]", "roles: [compute]") }),
    );
    const hit = fleetIssues.find((i) => /storage in 2 data center/.test(i.received));
    assert.ok(hit, formatIssues(fleetIssues));
    assert.match(hit.allowed, /at least 3 data centers/);
  });

  it("refuse a data center the global stack does not list, and a listed one with no stack", () => {
    const { fleetIssues } = check(
      fleetWith({ global: (t) => t.replace("[dc1, dc2, dc3]", "[dc1, dc2, dc4]") }),
    );
    assert.ok(
      fleetIssues.some((i) => i.file === "Pulumi.dc3.yaml" && i.path === "zeroroot:dataCenter.name"),
      formatIssues(fleetIssues),
    );
    assert.ok(
      fleetIssues.some((i) => i.file === "Pulumi.global.yaml" && i.path === "zeroroot:global.dataCenters[2]"),
    );
  });

  it("refuse two domains in one fleet", () => {
    // Ids and host names cannot repeat across data centers: each must carry its data center's name.
    const { fleetIssues } = check(
      fleetWith({
        global: (t) => t.replace("zeroroot:domain: zeroroot.example", "zeroroot:domain: other.example"),
      }),
    );
    assert.ok(
      fleetIssues.some((i) => i.file === "Pulumi.global.yaml" && i.path === "zeroroot:domain"),
      formatIssues(fleetIssues),
    );
  });
});
