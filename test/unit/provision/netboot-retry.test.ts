/**
 * A netboot that fails is tried again — re-armed at the site, netbooted again through the BMC —
 * after a growing pause, a bounded number of times, and each failure is reported. The BMC and the
 * site are small in-memory stand-ins that play a server's boots: what they answer is all that
 * provisionServer sees of the real ones (the lab drives it against ipmi_sim and the real site).
 */
import { strict as assert } from "node:assert";
import type { BmcClient, BootDevice, BootDeviceState, PowerState } from "../../../lib/ipmi";
import {
  DEFAULT_NETBOOT_RETRY,
  netbootBackoffMs,
  ProvisionError,
  provisionServer,
  type SiteApi,
} from "../../../lib/provision";
import { ROUTES, SiteError, type ServerStatus } from "../../../lib/site";

/** What a PXE boot does in one attempt: never fetches its netboot, installs, or hangs in the installer. */
type Netboot = "no-netboot" | "installs" | "installer-hangs";

class Machine {
  power: PowerState = "off";
  next?: BootDevice;
  persistent: BootDevice = "disk";
  record?: ServerStatus;
  arms: number[] = [];
  siteDown = false;
  constructor(private readonly plan: Netboot[]) {}

  boot(): void {
    const dev = this.next ?? this.persistent;
    this.next = undefined;
    if (dev === "pxe") {
      const what = this.plan[this.arms.length - 1] ?? "no-netboot";
      if (what === "no-netboot") return;
      this.record = { ...this.record!, phase: "netbooted" };
      if (what === "installs")
        setTimeout(() => {
          this.record = { ...this.record!, phase: "enrolled", certificate: CERT };
        }, 5);
    } else if (this.record?.certificate)
      setTimeout(() => {
        const at = new Date(Date.now() + this.arms.length).toISOString();
        this.record = { ...this.record!, phase: "ready", lastReady: { ...READY, at } };
      }, 5);
  }
}

const CERT = { subject: "CN=dc1-s1", issuer: "CN=site dc1", serial: "01", notAfter: "2030-01-01", pem: "" };
const READY = { agentUser: "zr-agent", agentUid: 2001, listeningTcpPorts: [7443], bootId: "b" };

function bmcOf(m: Machine): BmcClient {
  return {
    endpoint: { serverId: "dc1-s1", address: "10.0.0.1" } as BmcClient["endpoint"],
    getPower: async () => m.power,
    setPower: async (p) => {
      const was = m.power;
      m.power = p;
      if (p === "on" && was === "off") m.boot();
    },
    cycle: async () => {
      m.power = "on";
      m.boot();
    },
    getBootDevice: async (): Promise<BootDeviceState> => ({
      device: m.next ?? m.persistent,
      persistent: m.next === undefined,
      valid: true,
    }),
    setBootDevice: async (d, o) => {
      if (o.persistent) {
        m.persistent = d;
        m.next = undefined;
      } else m.next = d;
    },
    waitForPower: async () => undefined,
  };
}

function siteOf(m: Machine): SiteApi {
  return {
    async get<T>(path: string): Promise<T> {
      if (m.siteDown) throw new Error("connect ECONNREFUSED 10.0.0.2:8443");
      if (path !== ROUTES.server("dc1-s1") || !m.record) throw new SiteError("no server dc1-s1", 404);
      return m.record as T;
    },
    async post<T>(path: string): Promise<T> {
      assert.equal(path, ROUTES.arm);
      m.arms.push(Date.now());
      m.record = { serverId: "dc1-s1", mac: "02:00:00:00:00:01", ...m.record, phase: "armed" };
      return { phase: "armed" } as T;
    },
  };
}

const TARGET = { serverId: "dc1-s1", hostname: "s1.dc1.zeroroot.test", mac: "02:00:00:00:00:01" };
const FAST = { attempts: 3, netbootTimeoutMs: 60, backoffMs: 40, maxBackoffMs: 1000 };

async function provision(m: Machine, netboot = FAST, phaseTimeoutMs = 400) {
  const said: string[] = [];
  const r = await provisionServer(bmcOf(m), siteOf(m), TARGET, {
    pollMs: 5,
    phaseTimeoutMs,
    netboot,
    log: (s) => void said.push(s),
  }).then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  return { r, said };
}

describe("provisioning retries a failed netboot (lib/provision)", () => {
  it("re-arms and netboots again when the server never fetched its netboot, then installs", async () => {
    const m = new Machine(["no-netboot", "installs"]);
    const { r, said } = await provision(m);
    assert.ok(r.ok, r.ok ? "" : String(r.e));
    assert.equal(m.arms.length, 2, "armed once per attempt");
    assert.ok(m.arms[1] - m.arms[0] >= FAST.netbootTimeoutMs + FAST.backoffMs, "paused before retrying");
    assert.ok(
      said.some((l) =>
        /netboot attempt 1 of 3 failed: the server did not fetch its netboot configuration within 0.06 s \(site says armed\)/.test(
          l,
        ),
      ),
      said.join("\n"),
    );
    assert.ok(said.some((l) => /installed and enrolled \(attempt 2\)/.test(l)));
    assert.equal(r.ok && r.v.agentUser, "zr-agent");
    assert.equal(m.persistent, "disk", "runs from disk afterwards");
  });

  it("retries an installer that netbooted but never enrolled, within its phase bound", async () => {
    const m = new Machine(["installer-hangs", "installs"]);
    const { r, said } = await provision(m, FAST, 120);
    assert.ok(r.ok, r.ok ? "" : String(r.e));
    assert.equal(m.arms.length, 2);
    assert.ok(said.some((l) => /attempt 1 of 3 failed: the installer did not enroll within 0.12 s/.test(l)));
  });

  it("gives up after the bounded number of attempts and names each failure", async () => {
    const m = new Machine(["no-netboot", "installer-hangs", "no-netboot", "installs"]);
    const { r } = await provision(m, FAST, 120);
    assert.ok(!r.ok);
    assert.ok(r.e instanceof ProvisionError);
    assert.equal(m.arms.length, 3, "never a fourth attempt");
    const msg = (r.e as Error).message;
    assert.match(
      msg,
      /^server dc1-s1: netboot install failed 3 time\(s\): attempt 1: .*; attempt 2: .*; attempt 3: /,
    );
    assert.match(msg, /attempt 2: the installer did not enroll/);
  });

  it("counts a site that does not answer as a netboot not fetched, and says so", async () => {
    const m = new Machine(["no-netboot", "installs"]);
    const site = siteOf(m);
    const post = site.post.bind(site);
    // The first arm reaches the site, which then stops answering until the next arm.
    site.post = async <T>(p: string, b: unknown): Promise<T> => {
      m.siteDown = false;
      const r = await post<T>(p, b);
      m.siteDown = m.arms.length === 1;
      return r;
    };
    const said: string[] = [];
    await provisionServer(bmcOf(m), site, TARGET, {
      pollMs: 5,
      phaseTimeoutMs: 400,
      netboot: FAST,
      log: (s) => void said.push(s),
    });
    assert.equal(m.arms.length, 2);
    assert.ok(
      said.some((l) => /attempt 1 of 3 failed: .*site unreachable: connect ECONNREFUSED/.test(l)),
      said.join("\n"),
    );
  });

  it("pauses longer before each attempt, up to a cap", () => {
    const r = { ...DEFAULT_NETBOOT_RETRY, backoffMs: 10_000, maxBackoffMs: 60_000 };
    assert.deepEqual(
      [2, 3, 4, 5, 6].map((n) => netbootBackoffMs(n, r)),
      [10_000, 20_000, 40_000, 60_000, 60_000],
    );
    assert.ok(DEFAULT_NETBOOT_RETRY.attempts >= 2 && DEFAULT_NETBOOT_RETRY.attempts <= 5, "bounded");
  });
});
