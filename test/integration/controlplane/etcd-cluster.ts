/**
 * A real three-member etcd (Debian's etcd-server) on 127.0.0.1 with client-certificate
 * authentication and auth enabled, for the control-plane clients' integration tests. The clients
 * refuse IP endpoints (TLS names a host) and a zeroroot CA only certifies names in its data
 * center's zone, which does not resolve here: so the members' certificate, for `localhost`, comes
 * from a root made with openssl, and the endpoints are https://localhost:<port>. Client
 * certificates come from a zeroroot hierarchy; etcd trusts both roots. Users, one per certificate
 * CN, no password:
 *  - root (root role): etcdctl, to set things up and edit by hand;
 *  - alice: readwrite on /t/;
 *  - nobody: a user without any role.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopProcess } from "../../helpers/stop-process";
import * as pki from "../../../lib/pki";
import { issueIdentity, type IssuedIdentity } from "../../../lab/controlplane";
import type { ClientIdentity } from "../../../lib/controlplane";

const MEMBERS = 3;

export interface TestCluster {
  /** https://localhost:<port>, one per member, in member order. */
  readonly endpoints: readonly string[];
  /** The ports of `endpoints`. etcdctl uses another listener of each member, so a test can cut these alone. */
  readonly clientPorts: readonly number[];
  readonly alice: ClientIdentity;
  readonly nobody: ClientIdentity;
  /** A certificate from a CA etcd does not trust, CN alice. */
  readonly stranger: ClientIdentity;
  etcdctl(args: readonly string[]): Promise<string>;
  stopMember(index: number): Promise<void>;
  /** Starts a stopped member again on its data (it rejoins the cluster). */
  startMember(index: number): void;
  /** The members' process ids (0 for one not started), for a watchdog that must stop them itself. */
  memberPids(): number[];
  stop(): Promise<void>;
}

const identity = (i: IssuedIdentity, serverRootPem: string): ClientIdentity => ({
  trustAnchorsPem: serverRootPem,
  certificateChainPem: i.certificateChainPem,
  privateKeyPem: i.privateKeyPem,
});

function issuingCa(root: pki.CertificateAuthority): pki.CertificateAuthority {
  const k = pki.generateKeyPair();
  const csr = pki.createCsr({ commonName: "controlplane test issuing CA" }, k.privateKey);
  const cert = pki.issueFromCsr(root, "issuing", csr, { nameScope: { dnsZones: ["dc1.zeroroot.test"] } });
  return pki.loadCa(cert.certificatePem, pki.exportPkcs8(k.privateKey));
}

/** openssl: a root and the members' certificate for localhost and 127.0.0.1 (server and client auth). */
function memberCertificate(dir: string): { rootPem: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=etcd test server root",
    "-keyout",
    f("sroot.key"),
    "-out",
    f("sroot.pem"),
  );
  openssl(
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    f("member.key"),
    "-out",
    f("member.csr"),
  );
  writeFileSync(
    f("member.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    f("member.csr"),
    "-CA",
    f("sroot.pem"),
    "-CAkey",
    f("sroot.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    f("member.ext"),
    "-out",
    f("member.crt"),
  );
  return { rootPem: readFileSync(f("sroot.pem"), "utf8"), cert: f("member.crt"), key: f("member.key") };
}

export async function startTestCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "zr-cp-etcd-"));
  const root = pki.createRootCa({ commonName: "controlplane test root" });
  const ca = issuingCa(root.ca);
  const member = memberCertificate(dir);
  const admin = issueIdentity(ca, root.certificatePem, "user", "root");
  const foreignRoot = pki.createRootCa({ commonName: "foreign root" });
  const stranger = issueIdentity(issuingCa(foreignRoot.ca), root.certificatePem, "user", "alice");
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const f = {
    // etcd checks client certificates against this bundle; etcdctl checks the members' against the same
    root: file("roots.pem", root.certificatePem + member.rootPem),
    cert: member.cert,
    key: member.key,
    adminCert: file("root.crt", admin.certificateChainPem),
    adminKey: file("root.key", admin.privateKeyPem),
  };
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const ports = Array.from({ length: MEMBERS }, (_, i) => ({
    client: base + 3 * i,
    peer: base + 3 * i + 1,
    admin: base + 3 * i + 2,
  }));
  const cluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const logs: string[][] = ports.map(() => []);
  const spawnMember = (i: number) => {
    const p = ports[i];
    const child = spawn(
      "etcd",
      [
        `--name=m${i}`,
        `--data-dir=${join(dir, `data${i}`)}`,
        `--listen-client-urls=https://127.0.0.1:${p.client},https://127.0.0.1:${p.admin}`,
        `--advertise-client-urls=https://localhost:${p.client}`,
        `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-cluster=${cluster}`,
        "--initial-cluster-state=new",
        "--client-cert-auth",
        `--trusted-ca-file=${f.root}`,
        `--cert-file=${f.cert}`,
        `--key-file=${f.key}`,
        "--log-outputs=stderr",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr!.setEncoding("utf8").on("data", (d: string) => logs[i].push(...d.split("\n").slice(-3)));
    return child;
  };
  const members = ports.map((_, i) => spawnMember(i));
  const endpoints = ports.map((p) => `https://localhost:${p.client}`);
  const etcdctl = (args: readonly string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        "etcdctl",
        [
          `--endpoints=${ports.map((p) => `https://127.0.0.1:${p.admin}`).join(",")}`,
          `--cacert=${f.root}`,
          `--cert=${f.adminCert}`,
          `--key=${f.adminKey}`,
          "--command-timeout=10s",
          ...args,
        ],
        { env: { PATH: process.env.PATH, ETCDCTL_API: "3" } },
        (err, stdout, stderr) =>
          err ? reject(new Error(`etcdctl ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
      ),
    );
  const stop = async () => {
    await Promise.all(members.map((m) => stopProcess(m)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const dead = members.findIndex((m) => m.exitCode !== null);
      if (dead >= 0) throw new Error(`etcd m${dead} exited: ${logs[dead].slice(-5).join(" | ")}`);
      try {
        await etcdctl(["endpoint", "health"]);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`etcd not healthy in 60 s: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    for (const step of [
      ["user", "add", "root", "--no-password"],
      ["user", "grant-role", "root", "root"],
      ["user", "add", "alice", "--no-password"],
      ["role", "add", "r-alice"],
      ["role", "grant-permission", "r-alice", "--prefix=true", "readwrite", "/t/"],
      ["user", "grant-role", "alice", "r-alice"],
      ["user", "add", "nobody", "--no-password"],
      ["auth", "enable"],
    ])
      await etcdctl(step);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoints,
    clientPorts: ports.map((p) => p.client),
    alice: identity(issueIdentity(ca, root.certificatePem, "user", "alice"), member.rootPem),
    nobody: identity(issueIdentity(ca, root.certificatePem, "user", "nobody"), member.rootPem),
    stranger: identity(stranger, member.rootPem),
    etcdctl,
    stopMember: (i) => stopProcess(members[i]),
    startMember: (i) => {
      if (members[i].exitCode === null && members[i].signalCode === null)
        throw new Error(`etcd m${i} is running`);
      members[i] = spawnMember(i);
    },
    memberPids: () => members.map((m) => m.pid ?? 0),
    stop,
  };
}
