/**
 * A Galera cluster of the real release without the rest of the lab: three network namespaces on a
 * bridge, each running the release's programs (installed into one directory, as the agent does) as
 * rendered by the node agent's own renderer (lib/agent/render), as an unprivileged user with a
 * private tmpfs /tmp, with certificates from a real ceremony (a root and one issuing CA per data
 * center). Like the agent, each member's tls/crls.pem holds its own data center's CRLs only (and the
 * root's); every data center's "site" is `openssl s_server -WWW` in the client namespace serving
 * `GET /crls` with a certificate of that data center's CA, named in the crlSources parameter. For the storage bench and for working
 * on the release; the lab (`zeroroot lab up`) runs the same release through the agent.
 * Root is needed (namespaces); everything it starts runs as `nobody`. Its parts: harness-net.ts (the
 * namespaces and bridge), harness-pki.ts (ceremony, leaves, CRLs and the sites), harness-sql.ts (what
 * it asks a member's mariadbd); this file installs, renders, starts and stops the members.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { fillTemplate, renderInstance, type RenderInput } from "../../../lib/agent/render";
import { galeraParameters } from "../../../lib/datastores/mariadb-galera";
import { datastoreParameters, type DataAccessConfig, type ServiceConfig } from "../../../lib/fleet";
import { partitionPaths } from "../../../lib/hardening/partitions";
import type { ProfileName } from "../../../lib/pki";
import { harnessNetDown, harnessNetUp } from "./harness-net";
import {
  ensureCeremony,
  HARNESS_DOMAIN,
  issueLeaf,
  NOBODY,
  publishCrls,
  revokeLeaf,
  SITE_PORT_BASE,
  siteName,
  startSites,
  userIssuerDn,
} from "./harness-pki";
import { adminSql, galeraState, waitSynced } from "./harness-sql";
import { galeraManifest, galeraReleaseSources } from "./release";

export { HARNESS_DOMAIN } from "./harness-pki";

export interface HarnessMember {
  readonly dc: string;
  readonly ns: string;
  readonly address: string;
  readonly instanceDir: string;
  readonly socket: string;
}

export interface HarnessOptions {
  /** Namespace prefix and directory name: `<id>-m1`… Must be this harness's own. */
  readonly id: string;
  readonly baseDir: string;
  /** First three octets of the harness's /24. */
  readonly subnet: string;
  /** `zeroroot:dataAccess` entries of service "galera". */
  readonly dataAccess?: DataAccessConfig;
}

const run = (cmd: string[], check = true) => {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  if (check && r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r;
};

export class GaleraHarness {
  readonly members: HarnessMember[];
  readonly pki: string;
  readonly clientNs: string;
  readonly releaseDir: string;

  constructor(readonly opts: HarnessOptions) {
    this.pki = join(opts.baseDir, "pki");
    this.clientNs = `${opts.id}-client`;
    this.releaseDir = join(opts.baseDir, "release");
    this.members = [1, 2, 3].map((i) => {
      const instanceDir = join(partitionPaths("nobody", join(opts.baseDir, `m${i}`)).instanceDir);
      return {
        dc: `dc${i}`,
        ns: `${opts.id}-m${i}`,
        address: `${opts.subnet}.${10 + i}`,
        instanceDir,
        socket: join(instanceDir, "run/mysqld.sock"),
      };
    });
  }

  /** Namespaces, ceremony, service certificates, rendered configuration. Idempotent. */
  setUp(): void {
    const { id, subnet, baseDir } = this.opts;
    harnessNetUp(id, [
      ...this.members.map((m) => ({ ns: m.ns, address: m.address })),
      { ns: this.clientNs, address: `${subnet}.100` },
    ]);
    mkdirSync(baseDir, { recursive: true, mode: 0o755 });
    ensureCeremony(
      this.pki,
      this.members.map((m) => m.dc),
    );
    mkdirSync(this.releaseDir, { recursive: true, mode: 0o755 });
    for (const [path, source] of Object.entries(galeraReleaseSources())) {
      copyFileSync(source, join(this.releaseDir, path));
      chmodSync(join(this.releaseDir, path), 0o644);
    }
    const manifest = this.manifest();
    const service = { name: "galera", release: `${manifest.name}@${manifest.version}` } as ServiceConfig;
    const parameters = {
      ...galeraParameters({
        cluster: "harness",
        peers: this.members.map((m) => m.address),
        bootstrap: this.members[0].address,
        userIssuers: Object.fromEntries(this.members.map((m) => [m.dc, this.userIssuerDn(m.dc)])),
      }),
      crlSources: this.members
        .map((m, i) => `${this.siteName(m.dc)}@${subnet}.100:${SITE_PORT_BASE + i + 1}`)
        .join("\n"),
      ...datastoreParameters(service, this.opts.dataAccess ?? []),
    };
    for (const m of this.members) {
      const tls = join(m.instanceDir, "tls");
      mkdirSync(join(m.instanceDir, "etc"), { recursive: true });
      mkdirSync(tls, { recursive: true });
      if (!existsSync(join(tls, "cert.pem"))) {
        const host = `galera.${m.ns}.${m.dc}.${HARNESS_DOMAIN}`;
        const issued = this.issue(m.dc, "service", host, { dnsNames: [host] });
        writeFileSync(join(tls, "key.pem"), issued.key, { mode: 0o600 });
        writeFileSync(join(tls, "cert.pem"), issued.cert);
        writeFileSync(join(tls, "chain.pem"), issued.chain);
      }
      const input = this.renderInput(m, manifest, parameters);
      for (const f of renderInstance(input).files)
        writeFileSync(join(m.instanceDir, f.path), f.content, { mode: f.mode });
      run(["chown", "-R", `${NOBODY}:${NOBODY}`, join(m.instanceDir, "..")]);
      chownSync(m.instanceDir, NOBODY, NOBODY);
    }
    if (this.members.some((m) => !existsSync(join(m.instanceDir, "tls", "crls.pem")))) this.publishCrls();
    // each data center's site: its CRLs at `GET /crls` over TLS, with a certificate of its CA
    startSites(this.pki, this.members, {
      clientNs: this.clientNs,
      subnet,
      siteDir: (dc) => this.siteDir(dc),
    });
  }

  siteName(dc: string): string {
    return siteName(dc);
  }

  private siteDir(dc: string): string {
    return join(this.opts.baseDir, "sites", dc);
  }

  /** The release's manifest with the host's package versions (dpkg), as the harness runs the host's daemons. */
  manifest(): ReturnType<typeof galeraManifest> {
    return galeraManifest(
      "2099-01-01T00:00:00Z",
      (p) => run(["dpkg-query", "-W", "-f=${Version}", p]).stdout,
    );
  }

  private renderInput(
    m: HarnessMember,
    manifest: ReturnType<typeof galeraManifest>,
    parameters: Record<string, string>,
  ): RenderInput {
    const spec: InstanceSpec = {
      name: `galera-${m.dc}`,
      release: { name: manifest.name, version: manifest.version, manifestDigest: "sha256:harness" },
      partition: { user: "nobody", uid: NOBODY },
      programs: [],
      endpoints: [],
      holdsData: true,
      minimumPersistenceSeconds: 3600,
      parameters,
    };
    return {
      spec,
      manifest,
      paths: partitionPaths("nobody", join(this.opts.baseDir, `m${this.members.indexOf(m) + 1}`)),
      releaseDir: this.releaseDir,
    };
  }

  /** The DN MariaDB requires as issuer of `dc`'s users: its ceremony CA's subject. */
  userIssuerDn(dc: string): string {
    return userIssuerDn(this.pki, dc);
  }

  /** Issues a leaf of `kind` from `dc`'s CA; `now` in the past gives an expired one. */
  issue(
    dc: string,
    kind: ProfileName,
    name: string,
    opts: { dnsNames?: string[]; now?: Date; validityDays?: number } = {},
  ): { key: string; cert: string; chain: string; serial: string } {
    return issueLeaf(this.pki, dc, kind, name, opts);
  }

  /**
   * Makes fresh CRLs of the root and every data-center CA; each site serves the root's and its own,
   * and each member's tls/crls.pem gets the same (as the agent keeps its own site's bundle). Another
   * data center's CRL reaches a member only by the release fetching it from that site.
   */
  publishCrls(): void {
    publishCrls(this.pki, this.members, (dc) => this.siteDir(dc));
  }

  /** Revokes a certificate the harness issued (by serial) and publishes the CRLs. */
  revoke(serial: string): void {
    revokeLeaf(this.pki, serial);
    this.publishCrls();
  }

  /** Starts the release's programs of member `i` (0-based) as the agent's supervisord would. */
  start(i: number): void {
    const m = this.members[i];
    const manifest = this.manifest();
    const input = this.renderInput(m, manifest, {});
    for (const p of manifest.programs) this.spawnIn(i, p.name, fillTemplate(p.command, input, p.name, true));
  }

  /**
   * Starts member `i`'s mariadbd on its data alone, without Galera and without TLS (the bench's
   * baseline: the same server, configuration and data).
   */
  startPlain(i: number): void {
    const m = this.members[i];
    this.spawnIn(
      i,
      "plain",
      `/usr/sbin/mariadbd --defaults-file=${m.instanceDir}/etc/my.cnf --wsrep-on=OFF --wsrep-provider=none --require-secure-transport=OFF --skip-ssl`,
    );
  }

  private spawnIn(i: number, name: string, command: string): void {
    const m = this.members[i];
    const logDir = join(m.instanceDir, "..", "log");
    mkdirSync(logDir, { recursive: true });
    const out = openSync(join(logDir, `${name}.log`), "a");
    const script =
      "mount -t tmpfs -o nosuid,nodev,mode=1777,size=256m tmpfs /tmp && exec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs -- " +
      command;
    spawn(
      "ip",
      ["netns", "exec", m.ns, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
      {
        detached: true,
        stdio: ["ignore", out, out],
        cwd: m.instanceDir,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: join(m.instanceDir, ".."), LANG: "C.UTF-8" },
      },
    ).unref();
  }

  /** Stops every process in member `i`'s namespace at once (SIGKILL): a data center lost. */
  kill(i: number): void {
    this.killNs(this.members[i].ns);
  }

  private killNs(ns: string): void {
    const pids = run(["ip", "netns", "pids", ns], false)
      .stdout.split("\n")
      .filter((l) => /^\d+$/.test(l));
    if (pids.length > 0) run(["kill", "-9", ...pids], false);
  }

  /** Stops everything and removes namespaces and files. */
  tearDown(): void {
    this.members.forEach((_, i) => this.kill(i));
    this.killNs(this.clientNs);
    harnessNetDown(this.opts.id, [...this.members.map((m) => m.ns), this.clientNs]);
    rmSync(this.opts.baseDir, { recursive: true, force: true });
  }

  /** Runs SQL on member `i` as its administrator (the partition user, over the unix socket). */
  adminSql(i: number, sql: string): { ok: boolean; out: string } {
    return adminSql(this.members[i].socket, sql);
  }

  /** wsrep_local_state_comment and wsrep_cluster_size of member `i`, or undefined when it does not answer. */
  state(i: number): { state: string; size: number } | undefined {
    return galeraState(this.members[i].socket);
  }

  /** Waits until every member in `which` is Synced in a cluster of `size`; returns the seconds it took. */
  async waitSynced(which: number[], size: number, timeoutMs = 180_000): Promise<number> {
    return waitSynced((i) => this.state(i), which, size, timeoutMs);
  }
}
