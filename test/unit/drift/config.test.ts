import { strict as assert } from "node:assert";
import { resolveDriftConfig, DRIFT_DEFAULTS } from "../../../lib/drift/config";
import { ConfigValidationError, parseStackFile } from "../../../lib/fleet";

const stack = (drift: string) =>
  parseStackFile(
    `config:\n  zeroroot:domain: zeroroot.example\n  zeroroot:drift:\n${drift}`,
    "stacks/Pulumi.dc1.yaml",
  );

describe("zeroroot:drift stack settings", () => {
  it("defaults apply when the key is absent: fencing is never a default", () => {
    const f = parseStackFile("config:\n  zeroroot:domain: x\n", "stacks/Pulumi.dc1.yaml");
    assert.deepEqual(resolveDriftConfig(f, f.file), DRIFT_DEFAULTS);
    assert.deepEqual(DRIFT_DEFAULTS.fence, []);
  });

  it("reads thresholds and the checks that fence", () => {
    const f = stack(
      "    staleReportSeconds: 600\n    certificateWarningDays: 21\n    alertWindowSeconds: 7200\n    fence: [ssh-accepted, zero-root]\n",
    );
    assert.deepEqual(resolveDriftConfig(f, f.file), {
      staleReportSeconds: 600,
      certificateWarningDays: 21,
      alertWindowSeconds: 7200,
      fence: ["ssh-accepted", "zero-root"],
    });
  });

  const bad: [string, string, RegExp][] = [
    [
      "a check the platform fixes itself cannot fence",
      "    fence: [boot-device]\n",
      /zeroroot:drift\.fence.*\n.*received.*boot-device[\s\S]*allowed:\s+a list of check names that need a human/,
    ],
    [
      "a threshold out of range",
      "    staleReportSeconds: 5\n",
      /zeroroot:drift\.staleReportSeconds[\s\S]*received: 5[\s\S]*60 to 604800/,
    ],
    [
      "an alert window shorter than a minute (an alert would vanish before a run sees it)",
      "    alertWindowSeconds: 30\n",
      /zeroroot:drift\.alertWindowSeconds[\s\S]*received: 30[\s\S]*60 to 2592000/,
    ],
    ["an unknown key", "    fenceOn: [ssh-accepted]\n", /received: an unknown key "fenceOn"/],
  ];
  for (const [name, yaml, message] of bad)
    it(`refuses ${name}, naming the file and line`, () => {
      const f = stack(yaml);
      assert.throws(
        () => resolveDriftConfig(f, f.file),
        (e: unknown) =>
          e instanceof ConfigValidationError &&
          message.test(e.message) &&
          /stacks\/Pulumi\.dc1\.yaml:\d+/.test(e.message),
      );
    });
});
