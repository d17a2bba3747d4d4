/**
 * The project's Lynis profile skips KRNL-6000 because, in the chroot audit, the kernel Lynis reads is
 * the host's. This test checks what that Lynis test would check on a real server after PID 1 has
 * applied the image's settings: every `config-data=sysctl` expectation of Lynis's own default
 * profile (Debian's `lynis`, installed by scripts/install-debian-deps.sh), for a key this Linux
 * kernel has, is met by the rendered /etc/sysctl.d/90-zeroroot.conf.
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { LYNIS_SKIPPED_TESTS } from "../../../lib/hardening/lynis";
import { DEFAULT_SYSCTL, renderSysctl } from "../../../lib/hardening/tuning";

const LYNIS_PROFILE = "/etc/lynis/default.prf";
/** Read-only in Linux (only a multicast routing daemon turns it on); writing it fails at boot. */
const NOT_SETTABLE = new Set(["net.ipv4.conf.all.mc_forwarding"]);

interface Expectation {
  readonly key: string;
  /** Accepted values, `0|1` in the profile meaning either. */
  readonly accepted: readonly string[];
  readonly description: string;
}

function lynisSysctlExpectations(profile: string): Expectation[] {
  return profile
    .split("\n")
    .filter((l) => l.startsWith("config-data=sysctl;"))
    .map((l) => {
      const [, key, want, , description] = l.split(";");
      return { key, accepted: want.split("|"), description };
    });
}

/** The rendered file read back as a sysctl would read it: `key = value` lines, comments ignored. */
function parseSysctlFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([a-z0-9_.-]+)\s*=\s*(\S.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith("#")) out.set(m[1], m[2]);
  }
  return out;
}

const onThisKernel = (key: string) => existsSync(`/proc/sys/${key.replace(/\./g, "/")}`);

describe("kernel settings of the image against Lynis's KRNL-6000 expectations", () => {
  const expectations = lynisSysctlExpectations(readFileSync(LYNIS_PROFILE, "utf8"));
  const linux = expectations.filter((e) => onThisKernel(e.key));
  const rendered = parseSysctlFile(renderSysctl(DEFAULT_SYSCTL));

  it("reads Lynis's profile (a profile with no sysctl lines would make this test pass vacuously)", () => {
    assert.ok(expectations.length >= 50, `only ${expectations.length} sysctl expectations`);
    assert.ok(linux.length >= 30, `only ${linux.length} of them exist on this kernel`);
  });

  it("sets every key Lynis checks on Linux to a value Lynis accepts", () => {
    const unmet = linux
      .filter((e) => !NOT_SETTABLE.has(e.key))
      .filter((e) => !e.accepted.includes(rendered.get(e.key) ?? "(unset)"))
      .map(
        (e) =>
          `${e.key}: image ${rendered.get(e.key) ?? "(unset)"}, Lynis accepts ${e.accepted.join("|")} (${e.description})`,
      );
    assert.deepEqual(unmet, []);
  });

  it("leaves out only keys Linux does not let an image set, and they hold Lynis's value here", () => {
    for (const key of NOT_SETTABLE) {
      assert.equal(rendered.has(key), false, key);
      const e = linux.find((x) => x.key === key);
      if (e)
        assert.ok(e.accepted.includes(readFileSync(`/proc/sys/${key.replace(/\./g, "/")}`, "utf8").trim()));
    }
  });

  it("is why the profile may skip KRNL-6000 (skip and check go together)", () => {
    assert.ok(LYNIS_SKIPPED_TESTS.includes("KRNL-6000"));
  });
});
