/**
 * A fake BMC for the integration tier (the lab tier uses ipmi_sim): an `ipmitool` stand-in put first
 * on the plugin's PATH. It answers the commands lib/ipmi sends, in ipmitool's own output format,
 * refuses a wrong password the way ipmitool reports it, keeps each BMC's state in a JSON file per
 * port, and logs each command, so a test can change the boot device "by hand" and see what the
 * plugin did.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BmcState {
  password: string;
  power: "on" | "off";
  boot: { device: "pxe" | "disk" | "none"; persistent: boolean };
}

const SCRIPT = `
const fs = require("fs"), path = require("path");
const a = process.argv.slice(2), opt = (f) => a[a.indexOf(f) + 1];
const file = path.join(__dirname, "bmc-" + opt("-p") + ".json");
const out = (s) => { process.stdout.write(s + "\\n"); process.exit(0); };
const fail = (s) => { process.stderr.write(s + "\\n"); process.exit(1); };
let s;
try { s = JSON.parse(fs.readFileSync(file, "utf8")); } catch { fail("No response from remote controller"); }
if (process.env.IPMI_PASSWORD !== s.password) fail("> RAKP 2 HMAC is invalid");
const cmd = a.slice(a.indexOf("-R") + 2).join(" ");
fs.appendFileSync(file + ".log", cmd + "\\n");
const save = () => fs.writeFileSync(file, JSON.stringify(s));
const SEL = { none: 0, pxe: 1, disk: 2 };
let m;
if (cmd === "chassis power status") out("Chassis Power is " + s.power);
if ((m = /^chassis power (on|off)$/.exec(cmd))) { s.power = m[1]; save(); out("Chassis Power Control: " + (m[1] === "on" ? "Up/On" : "Down/Off")); }
if (cmd === "chassis power cycle") { s.power = "on"; save(); out("Chassis Power Control: Cycle"); }
if (cmd === "chassis bootparam get 5") {
  const b1 = 0x80 | (s.boot.persistent ? 0x40 : 0), b2 = SEL[s.boot.device] << 2;
  out("Boot parameter version: 1\\nBoot parameter 5 is valid/unlocked\\nBoot parameter data: " +
    b1.toString(16).padStart(2, "0") + b2.toString(16).padStart(2, "0") + "000000");
}
if ((m = /^chassis bootdev (pxe|disk)( options=persistent)?$/.exec(cmd))) {
  s.boot = { device: m[1], persistent: !!m[2] }; save(); out("Set Boot Device to " + m[1]);
}
fail("Invalid command: " + cmd);
`;

export class FakeBmcs {
  readonly dir = mkdtempSync(join(tmpdir(), "zr-fake-bmc-"));

  constructor() {
    writeFileSync(join(this.dir, "ipmitool"), `#!${process.execPath}\n${SCRIPT}`);
    chmodSync(join(this.dir, "ipmitool"), 0o755);
  }

  /** The PATH that makes the plugin run this fake instead of ipmitool. */
  path(): string {
    return `${this.dir}:${process.env.PATH ?? ""}`;
  }

  set(port: number, state: BmcState): void {
    writeFileSync(join(this.dir, `bmc-${port}.json`), JSON.stringify(state));
  }

  get(port: number): BmcState {
    return JSON.parse(readFileSync(join(this.dir, `bmc-${port}.json`), "utf8")) as BmcState;
  }

  /** The ipmitool commands the BMC received, in order. */
  commands(port: number): string[] {
    try {
      return readFileSync(join(this.dir, `bmc-${port}.json.log`), "utf8")
        .split("\n")
        .filter(Boolean);
    } catch {
      return [];
    }
  }
}
