/**
 * The rendered systemd units pass `systemd-analyze verify` (every key known to this systemd, the
 * ExecStart binary present): a typo in a hardening option would otherwise be ignored silently.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderSchedule } from "../../../lib/drift/schedule";
import { REPO_ROOT } from "../../helpers/cli-process";

const ANALYZE = "/usr/bin/systemd-analyze";

describe("drift schedule units under systemd-analyze verify", function () {
  this.timeout(120_000);

  const verify = (service: string, timer: string) => {
    const dir = mkdtempSync(join(tmpdir(), "zr-drift-units-"));
    writeFileSync(join(dir, "zeroroot-drift.service"), service);
    writeFileSync(join(dir, "zeroroot-drift.timer"), timer);
    return spawnSync(ANALYZE, ["verify", "zeroroot-drift.service", "zeroroot-drift.timer"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
    });
  };

  before(function () {
    if (!existsSync(ANALYZE)) throw new Error(`${ANALYZE} is not installed (Debian package systemd)`);
  });

  it("the service (with the deployment state and its passphrase) and the timer have no unknown or malformed key", () => {
    const { service, timer } = renderSchedule({
      checkout: REPO_ROOT,
      stateDir: "/srv/zeroroot/state",
      passphraseFile: "/etc/zeroroot/passphrase",
    });
    const r = verify(service, timer);
    assert.equal(r.stderr.trim(), "", r.stderr);
    assert.equal(r.status, 0);
  });

  it("a misspelt hardening option is reported (this check can fail)", () => {
    const { service, timer } = renderSchedule({ checkout: REPO_ROOT });
    const r = verify(service.replace("ProtectClock=yes", "ProtectClok=yes"), timer);
    assert.match(r.stderr, /Unknown key 'ProtectClok'/);
  });
});
