/**
 * Step 2 of a client kit, put together: read the key of step 1 and the returned certificate (bounded),
 * verify it (accept.ts), find the user's data sets and Dask clusters in the stacks (datastores.ts,
 * clusters.ts), and write one kit directory per client (`<out>/<target>/`) holding what that client
 * needs and nothing else.
 */
import * as path from "node:path";
import * as pki from "../pki";
import { pemTextLimit } from "../pki/asn";
import { acceptCertificate, type AcceptedCertificate } from "./accept";
import { daskEntry, daskSecurity, type DaskClusterEndpoint } from "./clusters";
import {
  connectorJUrl,
  groupDataSets,
  libpqConninfo,
  mariadbCommand,
  mariadbOptionFile,
  pgjdbcUrl,
  pymysqlArgs,
  sh,
  type DataSetGroup,
  type KitFilePaths,
} from "./connections";
import { scanStacks } from "./datastores";
import { KitError } from "./errors";
import { kitPaths, readBounded, readKeyFile, replaceKitDir, type KitFile } from "./out-dir";
import { checkUserName } from "./request";

export const KIT_TARGETS = ["psql", "jdbc", "mariadb", "python", "dask"] as const;
export type KitTarget = (typeof KIT_TARGETS)[number];

/** Targets whose kit holds a PKCS#12 keystore, which needs a password. */
export const needsKeystorePassword = (targets: readonly KitTarget[]) => targets.includes("jdbc");

/** Largest certificate or chain file read: a full chain of the largest certificates pki accepts. */
export const MAX_CERT_FILE_BYTES = pemTextLimit(pki.MAX_CERT_BYTES) * pki.MAX_CHAIN_CERTS;

export interface PrepareKitArgs {
  readonly user: string;
  readonly dataCenter: string;
  readonly outDir: string;
  readonly certFile: string;
  readonly chainFile?: string;
  /** @default - the root certificate of the global stack in `stackDir` (rootCa mode offline) */
  readonly rootFile?: string;
  /** Where the stack files are, for the data sets, the clusters and their endpoints. */
  readonly stackDir?: string;
  readonly releasesDir?: string;
  readonly at?: Date;
}

export interface PreparedKit {
  readonly user: string;
  readonly outDir: string;
  readonly accepted: AcceptedCertificate;
  readonly groups: readonly DataSetGroup[];
  /** The clusters the verified identity owns (the `dask` kit). */
  readonly clusters: readonly DaskClusterEndpoint[];
  readonly warnings: readonly string[];
}

/** Verifies everything and finds the data sets and clusters; writes nothing. */
export function prepareKit(a: PrepareKitArgs): PreparedKit {
  checkUserName(a.user, a.dataCenter);
  const paths = kitPaths(a.outDir, a.user);
  const keyPem = readKeyFile(a.outDir, paths, a.user);
  const certPem = readBounded(a.certFile, MAX_CERT_FILE_BYTES, "--cert");
  const chainPem = a.chainFile ? readBounded(a.chainFile, MAX_CERT_FILE_BYTES, "--chain") : undefined;
  const identity: pki.Identity = { dataCenter: a.dataCenter, kind: "user", name: a.user };
  const scan = a.stackDir ? scanStacks(a.stackDir, identity, a.releasesDir) : undefined;
  const rootPem = a.rootFile ? readBounded(a.rootFile, MAX_CERT_FILE_BYTES, "--root") : scan?.rootPem;
  if (rootPem === undefined)
    throw new KitError(
      "no root certificate to verify against: give --root <the platform's root CA certificate>, or --stacks <dir> whose global stack keeps the root offline (zeroroot:global.rootCa.certificate)",
      "usage",
    );
  const accepted = acceptCertificate({
    user: a.user,
    dataCenter: a.dataCenter,
    certPem,
    chainPem,
    rootPem,
    keyPem,
    at: a.at,
  });
  const groups = groupDataSets(scan?.dataSets ?? [], a.dataCenter);
  // scanStacks matched `identity`; acceptCertificate has just checked the certificate speaks for it.
  const clusters = scan?.clusters ?? [];
  return { user: a.user, outDir: paths.dir, accepted, groups, clusters, warnings: scan?.warnings ?? [] };
}

/** Writes `<out>/<target>/` for each target; returns the directories written. */
export function writeKits(
  p: PreparedKit,
  targets: readonly KitTarget[],
  keystorePassword?: string,
): string[] {
  if (needsKeystorePassword(targets) && !keystorePassword)
    throw new KitError(
      "a jdbc kit needs a keystore password (read from --passphrase-fd or a prompt)",
      "usage",
    );
  return targets.map((t) =>
    replaceKitDir(p.outDir, t, kitFiles(p, t, path.join(p.outDir, t), keystorePassword)),
  );
}

function kitFiles(p: PreparedKit, target: KitTarget, dir: string, password?: string): KitFile[] {
  const u = p.user;
  const f: KitFilePaths = {
    root: path.join(dir, "root.crt"),
    cert: path.join(dir, `${u}.crt`),
    keyPem: path.join(dir, `${u}.key`),
    keyDer: target === "jdbc" ? path.join(dir, `${u}.pk8`) : undefined,
    keystore: target === "jdbc" ? path.join(dir, "keystore.p12") : undefined,
    truststore: target === "jdbc" ? path.join(dir, "truststore.p12") : undefined,
    mariadbOptions: target === "mariadb" ? path.join(dir, `${u}.cnf`) : undefined,
  };
  const base = (name: string) => path.basename(name);
  const files: KitFile[] = [
    { name: "root.crt", data: p.accepted.rootPem, secret: false },
    { name: base(f.cert), data: p.accepted.chainPem, secret: false },
  ];
  const key = p.accepted.privateKey;
  if (target !== "jdbc") files.push({ name: base(f.keyPem), data: pki.exportPkcs8(key), secret: true });
  if (target === "jdbc" && password) {
    files.push({ name: base(f.keyDer!), data: pki.exportPkcs8(key, { format: "der" }), secret: true });
    // Alias "user": the one pgjdbc's PKCS#12 key manager looks up (LAB-NOTES).
    const keystore = pki.createKeystore({
      privateKey: key,
      chainPem: p.accepted.chainPem,
      password,
      alias: "user",
    });
    files.push({ name: "keystore.p12", data: keystore, secret: true });
    const trust = pki.createTruststore({
      certificatesPem: p.accepted.rootPem,
      password,
      aliases: ["zeroroot-root"],
    });
    files.push({ name: "truststore.p12", data: trust, secret: false });
  }
  if (target === "mariadb")
    files.push({ name: base(f.mariadbOptions!), data: mariadbOptionFile(u, f), secret: false });
  const { text, json } = target === "dask" ? daskConnections(p, f) : connections(p, target, f);
  files.push({ name: "connections.txt", data: text, secret: false });
  const jsonName = target === "dask" ? "clusters.json" : "connections.json";
  files.push({ name: jsonName, data: `${JSON.stringify(json, null, 2)}\n`, secret: false });
  return files;
}

const ENGINES_FOR: Record<KitTarget, readonly string[]> = {
  psql: ["postgresql"],
  mariadb: ["mariadb"],
  jdbc: ["postgresql", "mariadb"],
  python: ["postgresql", "mariadb"],
  dask: [],
};

const header = (p: PreparedKit, target: KitTarget, how: string) => [
  `# ${target} kit of ${pki.formatIdentity(p.accepted.identity)}, certificate serial ${p.accepted.serial}, valid until ${p.accepted.notAfter.toISOString()}`,
  `# No password anywhere: ${how}.`,
];

/** The `dask` kit: one entry per cluster the identity owns, `Client(scheduler, security=...)`. */
function daskConnections(p: PreparedKit, f: KitFilePaths): { text: string; json: unknown[] } {
  const id = pki.formatIdentity(p.accepted.identity);
  const lines = header(p, "dask", "the scheduler admits only its owner's verified certificate");
  if (p.clusters.length === 0) lines.push(`# No Dask cluster of ${id} in zeroroot:clusters.`);
  else lines.push("# from distributed import Client; from distributed.security import Security");
  const args = Object.entries(daskSecurity(f))
    .map(([k, v]) => `${k}=${typeof v === "boolean" ? (v ? "True" : "False") : JSON.stringify(v)}`)
    .join(", ");
  const json = p.clusters.map((c) => daskEntry(c, f));
  p.clusters.forEach((c, i) =>
    lines.push(
      "",
      `# Dask cluster ${c.cluster}, scheduler on ${c.host} (${c.address}) [${c.dataCenter}]`,
      `Client(${JSON.stringify(json[i].scheduler)}, security=Security(${args}))`,
    ),
  );
  return { text: `${lines.join("\n")}\n`, json };
}

function connections(p: PreparedKit, target: KitTarget, f: KitFilePaths): { text: string; json: unknown[] } {
  const id = pki.formatIdentity(p.accepted.identity);
  const lines = header(p, target, "the datastore maps the verified certificate to the user");
  const json: unknown[] = [];
  const groups = p.groups.filter((g) => ENGINES_FOR[target].includes(g.engine));
  if (groups.length === 0)
    lines.push(
      `# No ${ENGINES_FOR[target].join(" or ")} data set is granted to ${id} in zeroroot:dataAccess.`,
    );
  for (const g of groups) {
    lines.push(
      "",
      `# ${g.engine} ${g.service}/${g.database} (${g.access}) on ${g.members.map((m) => `${m.host} [${m.dataCenter}]`).join(", ")}`,
    );
    const entry: Record<string, unknown> = {
      engine: g.engine,
      service: g.service,
      database: g.database,
      access: g.access,
      members: g.members,
    };
    if (g.engine === "postgresql") {
      const conninfo = libpqConninfo(g, p.user, f);
      if (target === "psql") lines.push(`psql ${sh(conninfo)}`);
      if (target === "python") lines.push(`psycopg2.connect(${JSON.stringify(conninfo)})`);
      if (target === "jdbc") lines.push(pgjdbcUrl(g, p.user, f));
      if (target === "jdbc") entry.jdbcUrl = pgjdbcUrl(g, p.user, f);
      else entry.conninfo = conninfo;
    } else {
      if (target === "mariadb") lines.push(mariadbCommand(g, f));
      if (target === "mariadb") entry.command = mariadbCommand(g, f);
      if (target === "python") {
        lines.push(`pymysql.connect(**${JSON.stringify(pymysqlArgs(g, p.user, f))})`);
        entry.pymysql = pymysqlArgs(g, p.user, f);
      }
      if (target === "jdbc") {
        lines.push(
          `${connectorJUrl(g, p.user, f)}  (keyStorePassword, trustStorePassword: from a prompt, as Properties)`,
        );
        entry.jdbcUrl = connectorJUrl(g, p.user, f);
      }
    }
    json.push(entry);
  }
  return { text: `${lines.join("\n")}\n`, json };
}
