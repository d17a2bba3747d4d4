/**
 * What operators publish, as the agent's lab makes it: release files and their manifest, instance
 * specs in a partition, and desired-state documents signed (or altered) for the computer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { buildDesiredState, signDesiredState } from "../../../lib/desired-state";
import { partitionName, partitionUid } from "../../../lib/hardening";
import {
  digestBytes,
  PARTITION_USER,
  RELEASE_KIND,
  type ReleaseManifest,
  type Signer,
} from "../../../lib/release";

export interface ReleaseRef {
  readonly manifest: ReleaseManifest;
  readonly digest: string;
}

/** Writes release files under releasesDir and returns a manifest listing them. */
export function makeRelease(
  releasesDir: string,
  name: string,
  version: string,
  port: number,
  over: Partial<ReleaseManifest>,
  script: string,
): ReleaseManifest {
  const dir = path.join(releasesDir, `${name}@${version}`, "bin");
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(releasesDir, 0o755);
  fs.chmodSync(path.dirname(dir), 0o755);
  fs.writeFileSync(path.join(dir, "serve"), script, { mode: 0o755 });
  return {
    kind: RELEASE_KIND,
    name,
    version,
    files: [{ path: "bin/serve", ...digestBytes(script), mode: "0755" }],
    packages: [],
    programs: [{ name: "serve", command: "{{release.dir}}/bin/serve {{ports.http}}", user: PARTITION_USER }],
    configTemplates: [{ path: "etc/instance.conf", template: "name={{instance.name}}\n" }],
    ports: [{ name: "http", port, protocol: "tcp", tls: false, requireClientCertificate: false }],
    holdsData: false,
    // within the longest life a node accepts (RELEASE_LIMITS.lifetimeDays)
    notAfter: new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
    ...over,
  } as ReleaseManifest;
}

/** An instance of `rel` in partition number `partition`, as the desired state names it. */
export function instanceSpec(
  name: string,
  rel: ReleaseRef,
  partition: number,
  over: Partial<InstanceSpec>,
): InstanceSpec {
  const user = partitionName(partition);
  const uid = partitionUid(partition);
  return {
    name,
    release: { name: rel.manifest.name, version: rel.manifest.version, manifestDigest: rel.digest },
    partition: { user, uid },
    programs: rel.manifest.programs.map((p) => ({
      name: p.name,
      command: p.command,
      user,
      uid,
      capabilities: [],
      noNewPrivileges: true,
    })),
    endpoints: rel.manifest.ports.map((p) => ({
      port: p.port,
      protocol: p.protocol,
      tls: p.tls,
      requireClientCertificate: p.requireClientCertificate,
    })),
    holdsData: rel.manifest.holdsData,
    minimumPersistenceSeconds: rel.manifest.holdsData ? 3600 : 0,
    parameters: {},
    ...over,
  };
}

/** A desired-state document for `computerId` in dc1, signed by `signer`, then passed through `transform`. */
export function signedDesired(
  instances: readonly InstanceSpec[],
  o: { version: number; signer: Signer; computerId: string; transform?: (signed: unknown) => unknown },
): unknown {
  const doc = buildDesiredState({
    computerId: o.computerId,
    dataCenter: "dc1",
    version: o.version,
    instances,
    validitySeconds: 3600,
  });
  const signed = signDesiredState(doc, o.signer);
  return o.transform ? o.transform(JSON.parse(JSON.stringify(signed))) : signed;
}
