/**
 * Hostile desired-state documents, as text a node receives (from the control plane or read back from
 * its own disk), each with the one refusal it must get, at computer dc1-s01 (its certificate issued by
 * dc1). Genuinely signed unless the case is about the signature.
 */
import type { InstanceSpec } from "../../../lib/contracts/resources";
import { buildDesiredState, desiredStateDigest, signDesiredState } from "../../../lib/desired-state";
import { manifestDigest, signCanonical, type Signer } from "../../../lib/release";
import { baseManifest, type Hierarchy } from "../release/fixtures";
import { inDays, json, type Case } from "./release-cases";

const instance = (n: number, over: Partial<InstanceSpec> = {}): InstanceSpec => ({
  name: `db-${n}`,
  release: { name: "mariadb-galera", version: "10.11.6", manifestDigest: manifestDigest(baseManifest()) },
  partition: { user: `zr-p00${n}`, uid: 2100 + n },
  programs: [
    {
      name: "db",
      command: "/srv/db",
      user: `zr-p00${n}`,
      uid: 2100 + n,
      capabilities: [],
      noNewPrivileges: true,
    },
  ],
  endpoints: [],
  holdsData: true,
  minimumPersistenceSeconds: 86_400,
  parameters: { cluster: "c1" },
  ...over,
});
type DocArgs = Partial<Parameters<typeof buildDesiredState>[0]>;
const doc = (over: DocArgs = {}) =>
  buildDesiredState({
    computerId: "dc1-s01",
    dataCenter: "dc1",
    version: 7,
    instances: [instance(1)],
    validitySeconds: 3600,
    ...over,
  });
const ds =
  (over: DocArgs = {}, who: (h: Hierarchy) => Signer = (h) => h.controlPlane) =>
  (h: Hierarchy) =>
    json(signDesiredState(doc(over), who(h)));
/** A signed document whatever it says (signDesiredState would refuse the malformed ones). */
const dsRaw = (f: (d: Record<string, unknown>) => void) => (h: Hierarchy) => {
  const d = JSON.parse(json(doc())) as Record<string, unknown>;
  f(d);
  return json({ document: d, signature: signCanonical(d, h.controlPlane) });
};
const dsEdit = (f: (d: { instances: Record<string, unknown>[] }) => void) => (h: Hierarchy) => {
  const o = JSON.parse(ds()(h)) as { document: { instances: Record<string, unknown>[] } };
  f(o.document);
  return json(o);
};

/** The genuine document the desired-state cases are made from (each changes one thing). */
export const genuineState = (h: Hierarchy) => ds()(h);

export const STATES: Case[] = [
  { name: "an unsigned document", text: () => json({ document: doc() }), reason: "unsigned" },
  {
    name: "an instance added after signing",
    text: dsEdit((d) => d.instances.push(instance(2) as unknown as Record<string, unknown>)),
    reason: "bad-signature",
  },
  {
    name: "minimumPersistenceSeconds lowered to 0 after signing",
    text: dsEdit((d) => (d.instances[0].minimumPersistenceSeconds = 0)),
    reason: "bad-signature",
  },
  {
    name: "a parameter injected after signing",
    text: dsEdit((d) => (d.instances[0].parameters = { cluster: "c1 --init-file=/tmp/x" })),
    reason: "bad-signature",
  },
  { name: "a document for another computer", text: ds({ computerId: "dc1-s02" }), reason: "wrong-computer" },
  {
    name: "a document for dc1-s01 saying dataCenter dc2, by a signer authorised only for dc2",
    text: ds({ dataCenter: "dc2" }, (h) => h.dc2StateSigner),
    reason: "wrong-data-center",
  },
  {
    name: "a document for dc1 by a signer authorised only for dc2",
    text: ds({}, (h) => h.dc2StateSigner),
    reason: "unauthorised-signer",
  },
  {
    name: "a document by a release signer (no desiredState grant)",
    text: ds({}, (h) => h.alice),
    reason: "unauthorised-signer",
  },
  { name: "a document signed by a service certificate", text: ds({}, (h) => h.service), reason: "wrong-eku" },
  {
    name: "a document signed by the node's own computer certificate",
    text: ds({}, (h) => h.computer),
    reason: "wrong-eku",
  },
  {
    name: "a document signed by a codeSigning certificate of a computer identity",
    text: ds({}, (h) => h.codeSigningComputer),
    reason: "wrong-kind",
  },
  {
    name: "a document by a software signer a site's online CA minted",
    text: ds({}, (h) => h.mintedByOnlineCa),
    reason: "untrusted-signer",
  },
  {
    name: "a document signed under a foreign root",
    text: ds({}, (h) => h.foreignAlice),
    reason: "untrusted-signer",
  },
  {
    name: "a document signed by a revoked certificate",
    text: ds({}, (h) => h.bob),
    crls: (h) => [h.crlRevokingBob],
    reason: "revoked",
  },
  { name: "an expired document", text: ds({ now: new Date(Date.now() - 7_200_000) }), reason: "expired" },
  {
    name: "a document issued a day in the future",
    text: ds({ now: new Date(Date.now() + 86_400_000) }),
    reason: "not-yet-valid",
  },
  {
    name: "a document valid for more than 400 days",
    text: dsRaw((d) => (d.expiresAt = inDays(401))),
    reason: "validity-too-long",
  },
  {
    name: "a version below the last applied (rollback)",
    text: ds({ version: 5 }),
    last: () => ({ version: 6, digest: `sha256:${"0".repeat(64)}` }),
    reason: "rollback",
  },
  {
    name: "the last applied version with other content",
    text: ds({ version: 6 }),
    last: () => ({ version: 6, digest: desiredStateDigest(doc({ version: 6, instances: [] })) }),
    reason: "version-reused",
  },
  {
    name: "an instance running as root",
    text: dsRaw(
      (d) => ((d.instances as InstanceSpec[])[0] = instance(1, { partition: { user: "root", uid: 0 } })),
    ),
    reason: "malformed",
  },
  {
    name: "a data-holding instance with no persistence time",
    text: dsRaw((d) => ((d.instances as InstanceSpec[])[0] = instance(1, { minimumPersistenceSeconds: 0 }))),
    reason: "malformed",
  },
  {
    name: "an instance named constructor",
    text: dsRaw((d) => ((d.instances as InstanceSpec[])[0] = instance(1, { name: "constructor" }))),
    reason: "malformed",
  },
  {
    name: "1,001 instances",
    text: dsRaw((d) => (d.instances = Array.from({ length: 1001 }, (_, i) => instance(i)))),
    reason: "malformed",
  },
  {
    name: "a parameter of 10,000 characters",
    text: dsRaw(
      (d) => ((d.instances as InstanceSpec[])[0] = instance(1, { parameters: { p: "x".repeat(10_000) } })),
    ),
    reason: "malformed",
  },
  {
    name: "a fractional version (no canonical form to check a signature over)",
    text: dsEdit((d) => Object.assign(d, { version: 7.5 })),
    reason: "malformed",
  },
  {
    name: "a __proto__ key in parameters",
    text: (h) => ds()(h).replace('"parameters":{', '"parameters":{"__proto__":{"x":"1"},'),
    reason: "malformed",
  },
  { name: "a document of 5 MiB", text: dsRaw((d) => (d.padding = "x".repeat(5 << 20))), reason: "too-large" },
  {
    name: "JSON nested 10,000 deep",
    text: () => `{"document":${'{"a":'.repeat(10_000)}1`,
    reason: "too-deep",
  },
  { name: "a truncated document", text: (h) => ds()(h).slice(0, 300), reason: "malformed" },
  { name: "a document that is JSON null", text: () => "null", reason: "unsigned" },
];
