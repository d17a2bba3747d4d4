/** Instances, manifests and records for the agent's unit tests; each test changes one thing. */
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { PARTITION_USER, RELEASE_KIND, type ReleaseManifest } from "../../../lib/release";
import type { InstanceRecord } from "../../../lib/agent";

export const DIGEST = `sha256:${"a".repeat(64)}`;

export function instance(over: Partial<InstanceSpec> = {}, index = 0): InstanceSpec {
  const user = `zr-p${String(index).padStart(3, "0")}`;
  const uid = 2100 + index;
  return {
    name: `inst-${index}`,
    release: { name: "web", version: "1.0.0", manifestDigest: DIGEST },
    partition: { user, uid },
    programs: [{ name: "web", command: "x", user, uid, capabilities: [], noNewPrivileges: true }],
    endpoints: [],
    holdsData: false,
    minimumPersistenceSeconds: 0,
    parameters: {},
    ...over,
  };
}

export function manifest(over: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    kind: RELEASE_KIND,
    name: "web",
    version: "1.0.0",
    files: [],
    packages: [{ name: "python3", version: "3.11.2-1+b1" }],
    programs: [
      {
        name: "web",
        command: "{{release.dir}}/bin/serve --port={{ports.http}} --name={{instance.name}}",
        user: PARTITION_USER,
      },
    ],
    configTemplates: [{ path: "etc/web.conf", template: "greeting={{parameters.greeting}}\n" }],
    ports: [{ name: "http", port: 8080, protocol: "tcp", tls: false, requireClientCertificate: false }],
    holdsData: false,
    notAfter: "2099-01-01T00:00:00Z",
    ...over,
  } as ReleaseManifest;
}

export function record(over: Partial<InstanceRecord> = {}, index = 0): InstanceRecord {
  return {
    name: `inst-${index}`,
    partition: { user: `zr-p${String(index).padStart(3, "0")}`, uid: 2100 + index },
    release: { name: "web", version: "1.0.0", manifestDigest: DIGEST },
    createdAt: "2030-01-01T00:00:00.000Z",
    holdsData: false,
    minimumPersistenceSeconds: 0,
    renderDigest: "sha256:x",
    phase: "running",
    ...over,
  };
}
