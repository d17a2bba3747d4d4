/**
 * The life of a server in the real lab (root): BMC power-on, netboot install, token enrollment,
 * boot from disk, an unprivileged agent proving its identity over mutual TLS. No SSH anywhere.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BmcAuthError, IpmitoolBmcClient, spawnRunner } from "../../../lib/ipmi";
import { parseCertificate } from "../../../lib/pki";
import { inNamespace, isLabNamespace, listNamespaces } from "../../../lab/net";
import { currentLabId, labPrefixOf } from "../../../lab/orchestrate/lab-id";
import { labDown } from "../../../lab/orchestrate/down";
import {
  DOMAIN,
  mgmtNs,
  REPO_ROOT,
  serverNs,
  SITE_PORT,
  type LabLayout,
} from "../../../lab/orchestrate/layout";
import { labStatus } from "../../../lab/orchestrate/status";
import { labUp } from "../../../lab/orchestrate/up";
import { serverPaths, serverProcesses, serverStatus } from "../../../lab/server";
import { labBmcLogin } from "../../../lab/bmc/login";

const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");
const HELPER = join(__dirname, "../helpers/in-namespace.ts");

function inNs(
  ns: string,
  args: string[],
): { ok: boolean; value?: unknown; status?: number; message?: string } {
  const r = spawnSync("ip", ["netns", "exec", ns, TSX, HELPER, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  assert.ok(line.startsWith("{"), `helper in ${ns} printed no result: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line) as { ok: boolean; value?: unknown; status?: number; message?: string };
}

describe("the life of a server (lab)", function () {
  this.timeout(30 * 60_000);
  let lab: LabLayout;
  const dcOf = (id: string) => lab.plan.dataCenters.find((d) => d.servers.some((s) => s.id === id))!;
  const siteCall = (
    dc: string,
    method: string,
    path: string,
    body?: unknown,
    opts: { operator?: boolean; bearer?: string } = {},
  ) => {
    const d = lab.plan.dataCenters.find((x) => x.id === dc)!;
    const args = [
      "site",
      `https://${d.managementServer.managementAddress}:${SITE_PORT}`,
      `site.${dc}.${DOMAIN}`,
      join(lab.dir, "root.pem"),
      method,
      path,
      body === undefined ? "--" : JSON.stringify(body),
    ];
    if (opts.operator) args.push("--operator", lab.paths.operator.cert, lab.paths.operator.key);
    if (opts.bearer) args.push("--bearer", opts.bearer);
    return inNs(mgmtNs(dc), args);
  };
  /** Arms a (re-)install of a server at its site, as the BmcServer provider does. */
  const armInstall = (dc: string, s: { id: string; mac?: string }) =>
    siteCall(
      dc,
      "POST",
      "/admin/arm",
      { serverId: s.id, hostname: `${s.id.slice(dc.length + 1)}.${dc}.${DOMAIN}`, mac: s.mac },
      { operator: true },
    );
  const bmcOf = (id: string, password?: string) => {
    const s = dcOf(id).servers.find((x) => x.id === id)!;
    return new IpmitoolBmcClient(
      {
        serverId: id,
        address: s.bmcAddress,
        ...labBmcLogin(lab, id),
        ...(password === undefined ? {} : { password }),
        cipherSuite: 3,
      },
      { runner: spawnRunner(inNamespace(mgmtNs(dcOf(id).id))) },
    );
  };
  const phase = (id: string) =>
    (siteCall(dcOf(id).id, "GET", `/admin/servers/${id}`, undefined, { operator: true }).value ?? {}) as {
      phase?: string;
      lastReady?: { bootId: string; agentUser: string; at: string };
      certificate?: { serial: string };
    };
  /** Waits for a readiness report made after `since` (lab servers share the host kernel's boot id). */
  async function waitReadyAfter(id: string, since: number): Promise<void> {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const p = phase(id);
      if (p.phase === "ready" && p.lastReady && Date.parse(p.lastReady.at) > since) return;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.fail(`${id} did not report ready after its reboot`);
  }

  before(async () => {
    const said: string[] = [];
    try {
      lab = await labUp({ serversPerDc: 1, log: (m) => void said.push(m) });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlab up said (last 40 lines):\n${said.slice(-40).join("\n")}`);
    }
  });
  after(async () => {
    await labDown({ log: () => undefined });
    const prefix = labPrefixOf(currentLabId());
    const left = (await listNamespaces()).filter((n) => isLabNamespace(prefix, n));
    assert.deepEqual(left, [], "lab down leaves no namespace of its lab");
    const sims = spawnSync("pgrep", ["-af", "ipmi_sim"], { encoding: "utf8" }).stdout;
    assert.ok(!sims.includes(lab.dir), `lab down leaves no ipmi_sim of its lab running: ${sims}`);
  });

  it("takes every server from powered off to enrolled and running its agent as zr-agent", async () => {
    const report = (await labStatus(lab)).servers;
    assert.equal(report.length, 3);
    for (const s of report) {
      assert.equal(s.error, undefined, s.error);
      assert.equal(s.power, "on", s.id);
      assert.equal(s.bootDevice, "disk", s.id);
      assert.equal(s.phase, "ready", s.id);
      assert.equal(s.certificate?.subject, `CN=${s.id}`);
      assert.equal(s.certificate?.issuer, `CN=zeroroot issuing CA ${s.dataCenter}`);
      assert.equal(s.agentUser, "zr-agent");
      assert.equal(s.port22Listening, false);
    }
  });

  it("runs the signed lab release on every server as its partition user, answering only mutual TLS", () => {
    for (const d of lab.plan.dataCenters) {
      const id = d.servers[0].id;
      const st = serverStatus(id);
      assert.ok(st.running);
      const procs = serverProcesses(id).filter((p) => p.cmdline.includes("lab-echo@1.0.0/echo.py"));
      assert.equal(procs.length, 1, `${id}: the lab-echo instance runs once`);
      assert.equal(procs[0].uids[0], 2100, "as partition user zr-p000, not the agent and not root");
      const disk = serverPaths(id).disk;
      const sClient = (extra: string[]) =>
        spawnSync(
          "ip",
          [
            "netns",
            "exec",
            serverNs(id),
            "openssl",
            "s_client",
            "-connect",
            "127.0.0.1:7443",
            "-CAfile",
            join(lab.dir, "root.pem"),
            "-quiet",
            ...extra,
          ],
          { input: "", encoding: "utf8", timeout: 20_000 },
        );
      const anonymous = sClient([]);
      assert.doesNotMatch(anonymous.stdout, /hello/, "a client without a certificate gets nothing");
      const withCert = sClient([
        "-cert",
        join(disk, "etc/zeroroot/computer.crt"),
        "-key",
        join(disk, "etc/zeroroot/computer.key"),
      ]);
      assert.match(withCert.stdout, new RegExp(`zeroroot lab-echo: hello ${id}`), withCert.stderr);
    }
  });

  it("issues computer certificates that openssl verifies for client authentication only", () => {
    for (const d of lab.plan.dataCenters) {
      const id = d.servers[0].id;
      const chain = readFileSync(join(serverPaths(id).disk, "etc/zeroroot/computer.crt"), "utf8");
      const [leaf, issuing] = chain.split(/(?<=-----END CERTIFICATE-----\n)/);
      writeFileSync("/tmp/zr-leaf.pem", leaf);
      writeFileSync("/tmp/zr-issuing.pem", issuing);
      const verify = (purpose: string) =>
        spawnSync(
          "openssl",
          [
            "verify",
            "-CAfile",
            join(lab.dir, "root.pem"),
            "-untrusted",
            "/tmp/zr-issuing.pem",
            "-purpose",
            purpose,
            "/tmp/zr-leaf.pem",
          ],
          { encoding: "utf8" },
        );
      assert.equal(verify("sslclient").status, 0, verify("sslclient").stdout + verify("sslclient").stderr);
      assert.notEqual(verify("sslserver").status, 0);
      const keyStat = statSync(join(serverPaths(id).disk, "etc/zeroroot/computer.key"));
      assert.equal(keyStat.mode & 0o077, 0, "the computer key is readable by its owner only");
      assert.equal(keyStat.uid, 2000, "the computer key belongs to zr-agent");
    }
  });

  it("runs nothing as uid 0 inside a server except PID 1", () => {
    for (const d of lab.plan.dataCenters) {
      const procs = serverProcesses(d.servers[0].id);
      assert.ok(procs.length > 2, "the server runs PID 1, supervisord and the agent");
      for (const p of procs.filter((x) => x.nsPid !== 1)) {
        assert.ok(
          p.uids.every((u) => u !== 0),
          `pid ${p.nsPid} (${p.cmdline}) runs as uid 0`,
        );
        assert.equal(BigInt(p.capEff), 0n, `pid ${p.nsPid} keeps capabilities`);
      }
    }
  });

  it("has no SSH daemon: nothing listens on port 22 and an SSH client is refused", () => {
    for (const d of lab.plan.dataCenters) {
      const s = d.servers[0];
      const ss = spawnSync("ip", ["netns", "exec", serverNs(s.id), "ss", "-Hltn"], { encoding: "utf8" });
      assert.doesNotMatch(ss.stdout, /:22\s/);
      const r = inNs(mgmtNs(d.id), ["ssh", s.dataAddress, "22"]);
      assert.equal(r.ok, true, r.message);
      assert.equal((r.value as { connected: boolean }).connected, false, JSON.stringify(r.value));
      assert.ok(!existsIn(s.id, "usr/sbin/sshd"), "no sshd binary on the disk");
    }
  });

  it("refuses a wrong BMC password, naming the server's BMC and why, never the password", async () => {
    const id = lab.plan.dataCenters[0].servers[0].id;
    const wrong = "Wr0ng-pass-XYZ";
    await assert.rejects(bmcOf(id, wrong).getPower(), (err: unknown) => {
      assert.ok(err instanceof BmcAuthError, String(err));
      assert.match(err.message, new RegExp(id));
      const address = dcOf(id).servers[0].bmcAddress;
      assert.match(err.message, new RegExp(`${address.replace(/\./g, "\\.")}:623`));
      assert.doesNotMatch(err.message, new RegExp(wrong));
      return true;
    });
  });

  it("refuses a token from another MAC and a reused token, and records both as alerts", () => {
    const d = lab.plan.dataCenters[1];
    const s = d.servers[0];
    assert.equal(armInstall(d.id, s).ok, true);
    const netboot = siteCall(d.id, "GET", `/netboot/${s.mac}`);
    const token = (netboot.value as { token: string }).token;
    const csr = spawnSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "/dev/null",
        "-subj",
        `/CN=${s.id}`,
      ],
      { encoding: "utf8" },
    ).stdout;
    const wrongMac = siteCall(
      d.id,
      "POST",
      "/enroll",
      { mac: "02:00:00:00:99:99", csrPem: csr },
      { bearer: token },
    );
    assert.equal(wrongMac.status, 403);
    assert.match(wrongMac.message ?? "", /wrong-mac/);
    const reused = siteCall(d.id, "POST", "/enroll", { mac: s.mac, csrPem: csr }, { bearer: token });
    assert.equal(reused.status, 403);
    assert.match(reused.message ?? "", /reused/);
    const alerts = siteCall(d.id, "GET", "/admin/alerts", undefined, { operator: true }).value as {
      reason: string;
      serverId: string;
    }[];
    assert.ok(alerts.some((a) => a.reason === "wrong-mac" && a.serverId === s.id));
    assert.ok(alerts.some((a) => a.reason === "reused" && a.serverId === s.id));
    assert.ok(!JSON.stringify(alerts).includes(token), "alerts never hold the token");
    const siteLog = readFileSync(join(lab.paths.logs, `site-${d.id}.log`), "utf8");
    assert.ok(!siteLog.includes(token), "the site never logs a token");
  });

  it("refuses a tampered image at install, then comes back from disk unchanged", async () => {
    const d = lab.plan.dataCenters[2];
    const s = d.servers[0];
    const diskSerial = () =>
      parseCertificate(readFileSync(join(serverPaths(s.id).disk, "etc/zeroroot/computer.crt"), "utf8"))
        .serial;
    const serialBefore = diskSerial();
    const image = readFileSync(join(lab.dir, "sites", d.id, "site.json"), "utf8");
    const sha = (JSON.parse(image) as { imageSha256: string }).imageSha256;
    const file = join(lab.paths.images, `${sha}.tar.zst`);
    const size = statSync(file).size;
    appendFileSync(file, Buffer.from("tampered"));
    try {
      assert.equal(armInstall(d.id, s).ok, true);
      const bmc = bmcOf(s.id);
      await bmc.setBootDevice("pxe", { persistent: false });
      const cycledAt = Date.now();
      await bmc.cycle();
      // Wait for this boot's installer to finish (an earlier install left its exit code behind).
      const thisBoot = () => {
        const st = serverStatus(s.id);
        return st.device === "pxe" && st.bootedAt !== undefined && Date.parse(st.bootedAt) >= cycledAt - 2000
          ? st
          : undefined;
      };
      const deadline = Date.now() + 120_000;
      while (thisBoot()?.installerExitCode === undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 1000));
      assert.equal(thisBoot()?.installerExitCode, 1, "the installer refused the image");
      const consoleLog = readFileSync(serverPaths(s.id).console, "utf8");
      assert.match(
        consoleLog,
        /image refused: its sha256 is [0-9a-f]{64}, the netboot configuration expects/,
      );
      assert.notEqual(phase(s.id).phase, "enrolled");
    } finally {
      truncateSync(file, size);
    }
    const before = Date.now();
    const bmc = bmcOf(s.id);
    await bmc.setBootDevice("disk", { persistent: true });
    await bmc.cycle();
    await waitReadyAfter(s.id, before);
    assert.equal(diskSerial(), serialBefore, "same identity: the disk was never touched");
    assert.equal(
      phase(s.id).certificate?.serial,
      serialBefore,
      "the site still knows the server's certificate",
    );
  });

  it("comes back from disk with the same identity after a power cycle through its BMC", async () => {
    const id = lab.plan.dataCenters[0].servers[0].id;
    const bootedBefore = serverStatus(id).bootedAt;
    const subjectBefore = parseCertificate(
      readFileSync(join(serverPaths(id).disk, "etc/zeroroot/computer.crt"), "utf8"),
    ).serial;
    const bmc = bmcOf(id);
    const cycledAt = Date.now();
    await bmc.cycle();
    await waitReadyAfter(id, cycledAt);
    assert.notEqual(serverStatus(id).bootedAt, bootedBefore, "the server really went through a new boot");
    assert.equal((await bmc.getBootDevice()).device, "disk");
    assert.equal(
      parseCertificate(readFileSync(join(serverPaths(id).disk, "etc/zeroroot/computer.crt"), "utf8")).serial,
      subjectBefore,
    );
    assert.equal(phase(id).lastReady?.agentUser, "zr-agent");
  });
});

function existsIn(id: string, rel: string): boolean {
  try {
    statSync(join(serverPaths(id).disk, rel));
    return true;
  } catch {
    return false;
  }
}
