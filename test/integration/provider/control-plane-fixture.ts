/**
 * A real etcd (Debian's etcd-server) for the provider's integration tests: one member on
 * 127.0.0.1 with client-certificate authentication, its certificate for etcd.dc1.zeroroot.test
 * from a test hierarchy, and the files the plugin reads where it runs (operator identity, state
 * signer). Mutual TLS as in production; no per-identity roles (the lab tier checks those).
 *
 * The control-plane client refuses IP endpoints (TLS names a host), so the plugin runs with a
 * private /etc/hosts naming the member: a launcher that bind-mounts it in a mount namespace of its
 * own (`unshare --mount`, private propagation), sharing the host's network. The test edits etcd by
 * hand with etcdctl over 127.0.0.1, which the member's certificate also names.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pki from "../../../lib/pki";
import type { Signer } from "../../../lib/release";
import { issueIdentity, type IssuedIdentity } from "../../../lab/controlplane";
import { LAUNCHER } from "../../../provider/host";

const MEMBER = "etcd.dc1.zeroroot.test";

export interface TestControlPlane {
  readonly rootPem: string;
  readonly endpoint: string;
  /** The plugin's environment: operator identity and state signer files. */
  readonly env: NodeJS.ProcessEnv;
  /** The plugin's launcher, with /etc/hosts naming the member. */
  readonly launcher: string;
  readonly releaseSigner: Signer;
  /** etcdctl as the operator, over 127.0.0.1: an operator editing the control plane by hand. */
  etcdctl(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

function signer(ca: pki.CertificateAuthority, cn: string): Signer {
  const k = pki.generateKeyPair();
  const cert = pki.issueFromCsr(ca, "software", pki.createCsr({ commonName: cn }, k.privateKey), {
    commonName: cn,
  });
  return { privateKey: k.privateKey, certificatePem: cert.certificatePem, chainPem: ca.certificatePem };
}

async function ready(
  etcdctl: (a: readonly string[]) => Promise<string>,
  member: ChildProcess,
  log: string[],
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (member.exitCode !== null) throw new Error(`etcd exited: ${log.slice(-5).join(" | ")}`);
    try {
      await etcdctl(["put", "/probe", "1"]);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd not ready in 30 s: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

export async function startTestControlPlane(): Promise<TestControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), "zr-provider-etcd-"));
  const root = pki.createRootCa({ commonName: "provider test root" });
  const k = pki.generateKeyPair();
  const issuing = pki.loadCa(
    pki.issueFromCsr(root.ca, "issuing", pki.createCsr({ commonName: "test issuing CA" }, k.privateKey), {
      nameScope: { dnsZones: ["dc1.zeroroot.test"], ipNetworks: ["127.0.0.1/32"] },
    }).certificatePem,
    pki.exportPkcs8(k.privateKey),
  );
  const member = issueIdentity(issuing, root.certificatePem, "service", MEMBER, {
    dnsNames: [MEMBER],
    ipAddresses: ["127.0.0.1"],
  });
  const operator: IssuedIdentity = issueIdentity(issuing, root.certificatePem, "user", "alice");
  const state = signer(issuing, "state-signer");
  const files = {
    root: join(dir, "root.pem"),
    memberCert: join(dir, "member.crt"),
    memberKey: join(dir, "member.key"),
    operatorCert: join(dir, "operator.crt"),
    operatorKey: join(dir, "operator.key"),
    signerCert: join(dir, "signer.crt"),
    signerKey: join(dir, "signer.key"),
    hosts: join(dir, "hosts"),
    launcher: join(dir, "pulumi-resource-zeroroot"),
  };
  writeFileSync(files.hosts, `127.0.0.1 localhost\n127.0.0.1 ${MEMBER}\n`);
  writeFileSync(
    files.launcher,
    `#!/bin/sh\nexec unshare --mount --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$1"' '${files.hosts}' '${LAUNCHER}'\n`,
  );
  chmodSync(files.launcher, 0o755);
  writeFileSync(files.root, root.certificatePem);
  writeFileSync(files.memberCert, member.certificateChainPem);
  writeFileSync(files.memberKey, member.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.operatorCert, operator.certificateChainPem);
  writeFileSync(files.operatorKey, operator.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.signerCert, state.certificatePem + state.chainPem);
  writeFileSync(files.signerKey, pki.exportPkcs8(state.privateKey), { mode: 0o600 });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const etcd = spawn(
    "etcd",
    [
      "--name=test",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=https://127.0.0.1:${port}`,
      `--advertise-client-urls=https://${MEMBER}:${port}`,
      `--listen-peer-urls=http://127.0.0.1:${port + 1}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${port + 1}`,
      `--initial-cluster=test=http://127.0.0.1:${port + 1}`,
      "--client-cert-auth",
      `--trusted-ca-file=${files.root}`,
      `--cert-file=${files.memberCert}`,
      `--key-file=${files.memberKey}`,
      "--log-outputs=stderr",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const log: string[] = [];
  etcd.stderr.setEncoding("utf8").on("data", (d: string) => log.push(...d.split("\n").slice(-3)));
  const endpoint = `https://${MEMBER}:${port}`;
  const etcdctl = (args: readonly string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        "etcdctl",
        [
          `--endpoints=https://127.0.0.1:${port}`,
          `--cacert=${files.root}`,
          `--cert=${files.operatorCert}`,
          `--key=${files.operatorKey}`,
          "--command-timeout=10s",
          ...args,
        ],
        { env: { ...process.env, ETCDCTL_API: "3" } },
        (err, stdout, stderr) => (err ? reject(new Error(`etcdctl ${args[0]}: ${stderr}`)) : resolve(stdout)),
      ),
    );
  try {
    await ready(etcdctl, etcd, log);
  } catch (e) {
    etcd.kill("SIGKILL");
    throw e;
  }
  return {
    rootPem: root.certificatePem,
    endpoint,
    env: {
      ...process.env,
      ZEROROOT_OPERATOR_CERT: files.operatorCert,
      ZEROROOT_OPERATOR_KEY: files.operatorKey,
      ZEROROOT_STATE_SIGNER_CERT: files.signerCert,
      ZEROROOT_STATE_SIGNER_KEY: files.signerKey,
    },
    launcher: files.launcher,
    releaseSigner: signer(issuing, "release-signer"),
    etcdctl,
    async stop() {
      const exited = new Promise((r) => etcd.once("exit", r));
      etcd.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (etcd.exitCode === null) etcd.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
