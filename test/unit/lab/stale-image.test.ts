/**
 * `lab status` names a server installed from an image its role no longer has (status.ts
 * staleImageProblems): read from the disk's image-spec.json, hostile content included.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labNetPlan, type LabLayout } from "../../../lab/orchestrate/layout";
import { labImageSpec } from "../../../lab/orchestrate/image-spec";
import { labServerRole } from "../../../lab/orchestrate/stacks";
import { staleImageProblems } from "../../../lab/orchestrate/status";
import { specHash } from "../../../lib/hardening";

describe("lab status: servers installed from an older image", () => {
  let dir: string;
  const plan = labNetPlan(2);
  const lab = () => ({ dir, plan }) as unknown as LabLayout;
  const dc = plan.dataCenters[0];
  const server = dc.servers[0].id;
  const specFile = () => join(dir, "disks", server, "etc/zeroroot/image-spec.json");
  const write = (text: string) => {
    mkdirSync(join(dir, "disks", server, "etc/zeroroot"), { recursive: true });
    writeFileSync(specFile(), text);
  };
  const current = () => specHash(labImageSpec(labServerRole(dc, server)));
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "zr-stale-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds nothing when the disk was built from its role's current spec", () => {
    write(JSON.stringify({ specHash: current(), spec: {} }));
    assert.deepEqual(staleImageProblems(lab(), dc.id, server), []);
  });

  const cases: [string, () => void, RegExp][] = [
    [
      "another spec",
      () => write(JSON.stringify({ specHash: "ab".repeat(32) })),
      /installed from image spec abababababab, but its role's image is now [0-9a-f]{12}.*lab down --purge/,
    ],
    ["no image-spec.json", () => undefined, /installed from image spec unreadable/],
    ["not JSON", () => write("{\u202e"), /image spec unreadable/],
    [
      "a specHash that is not a string",
      () => write(JSON.stringify({ specHash: 7 })),
      /image spec unreadable/,
    ],
    ["JSON null", () => write("null"), /image spec unreadable/],
    [
      "a specHash holding control characters",
      () => write(JSON.stringify({ specHash: "\u001b[2J" + "a".repeat(60) })),
      /image spec unreadable/,
    ],
    [
      "a symlink to a host file (never followed)",
      () => {
        mkdirSync(join(dir, "disks", server, "etc/zeroroot"), { recursive: true });
        const host = join(dir, "host-spec.json");
        writeFileSync(host, JSON.stringify({ specHash: current() }));
        symlinkSync(host, specFile());
      },
      /image spec unreadable/,
    ],
    [
      "a symlink to a device that never ends",
      () => {
        mkdirSync(join(dir, "disks", server, "etc/zeroroot"), { recursive: true });
        symlinkSync("/dev/zero", specFile());
      },
      /image spec unreadable/,
    ],
    [
      "a file over 1 MiB",
      () => write(JSON.stringify({ specHash: current(), pad: "x".repeat(1 << 20) })),
      /image spec unreadable/,
    ],
  ];
  for (const [what, setUp, expected] of cases)
    it(`names the fix for a disk with ${what}`, () => {
      setUp();
      const problems = staleImageProblems(lab(), dc.id, server);
      assert.equal(problems.length, 1);
      assert.match(problems[0], expected);
    });
});
