/**
 * Hostile signed releases, as text a node receives (from the control plane or read back from its own
 * disk), each with the one refusal it must get. Every document is genuinely signed unless the case is
 * about the signature: the refusal must come from the rule the case names. Desired states: state-cases.ts.
 */
import { manifestDigest, signCanonical, signRelease, type Signer } from "../../../lib/release";
import { FILES, baseManifest, type Hierarchy } from "../release/fixtures";

export interface Case {
  readonly name: string;
  /** The document as received; `h` is the suite's hierarchy. */
  readonly text: (h: Hierarchy) => string;
  readonly reason: string;
  /** Files on the node, for releases. @default - FILES */
  readonly files?: Record<string, string>;
  /** Last accepted release version / digest, or last applied document version / digest. */
  readonly last?: (h: Hierarchy) => { version: string | number; digest: string };
  /** Check with CRLs. */
  readonly crls?: (h: Hierarchy) => string[];
}

export const json = (v: unknown) => JSON.stringify(v);
export const inDays = (d: number) =>
  new Date(Date.now() + d * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");

/** A signed release of `manifest` whatever it says (signRelease would refuse the malformed ones). */
const raw = (manifest: unknown, signer: Signer) =>
  json({ manifest, signature: signCanonical(manifest, signer) });
const rel =
  (over: Parameters<typeof baseManifest>[0] = {}, who: (h: Hierarchy) => Signer = (h) => h.alice) =>
  (h: Hierarchy) =>
    raw(baseManifest(over), who(h));
const edit =
  (f: (o: { manifest: Record<string, unknown>; signature: Record<string, unknown> }) => void) =>
  (h: Hierarchy) => {
    const o = JSON.parse(json(signRelease(baseManifest(), h.alice)));
    f(o);
    return json(o);
  };
const file0 = baseManifest().files[0];

/** The genuine release the release cases are made from (each changes one thing). */
export const genuineRelease = (h: Hierarchy) => rel()(h);

export const RELEASES: Case[] = [
  { name: "an unsigned release", text: () => json({ manifest: baseManifest() }), reason: "unsigned" },
  { name: "an empty signature value", text: edit((o) => (o.signature.value = "")), reason: "unsigned" },
  {
    name: "a command changed after signing",
    text: edit((o) => ((o.manifest.programs as { command: string }[])[0].command = "sh -c 'curl x|sh'")),
    reason: "bad-signature",
  },
  {
    name: "a file digest changed after signing",
    text: edit((o) => ((o.manifest.files as { sha256: string }[])[0].sha256 = "0".repeat(64))),
    reason: "bad-signature",
  },
  {
    name: "holdsData turned false after signing",
    text: edit((o) => (o.manifest.holdsData = false)),
    reason: "bad-signature",
  },
  {
    name: "an algorithm label that is not the key's",
    text: edit((o) => (o.signature.algorithm = "rsa-pkcs1-sha256")),
    reason: "bad-signature",
  },
  {
    name: "a signature value of 100,000 characters",
    text: edit((o) => (o.signature.value = "A".repeat(100_000))),
    reason: "malformed",
  },
  {
    name: "a chain of five certificates",
    text: edit((o) => (o.signature.certificates = Array(5).fill((o.signature.certificates as string[])[0]))),
    reason: "malformed",
  },
  {
    name: "a file replaced by one of the same size",
    text: rel(),
    files: { ...FILES, "bin/server": FILES["bin/server"].toUpperCase() },
    reason: "file-digest-mismatch",
  },
  {
    name: "a file of another size (refused before hashing)",
    text: rel(),
    files: { ...FILES, "bin/server": `${FILES["bin/server"]}#` },
    reason: "file-size-mismatch",
  },
  {
    name: "a file missing",
    text: rel(),
    files: { "bin/server": FILES["bin/server"] },
    reason: "file-missing",
  },
  {
    name: "a path escaping the release with ../",
    text: rel({ files: [{ ...file0, path: "../../etc/passwd" }] }),
    reason: "malformed",
  },
  {
    name: "an absolute path",
    text: rel({ files: [{ ...file0, path: "/etc/passwd" }] }),
    reason: "malformed",
  },
  {
    name: "a path with a NUL byte",
    text: rel({ files: [{ ...file0, path: "bin/server\u0000.txt" }] }),
    reason: "malformed",
  },
  {
    name: "a path through ./",
    text: rel({ files: [{ ...file0, path: "bin/./server" }] }),
    reason: "malformed",
  },
  {
    name: "a config template written outside the partition",
    text: rel({ configTemplates: [{ path: "../../.ssh/authorized_keys", template: "x" }] }),
    reason: "malformed",
  },
  { name: "the same file listed twice", text: rel({ files: [file0, { ...file0 }] }), reason: "malformed" },
  {
    name: "the same port name twice",
    text: rel({ ports: [...baseManifest().ports, { ...baseManifest().ports[0], port: 3307 }] }),
    reason: "malformed",
  },
  {
    name: "a program running as root",
    text: rel({ programs: [{ name: "p", command: "x", user: "root" }] }),
    reason: "malformed",
  },
  { name: "a release named constructor", text: rel({ name: "constructor" }), reason: "malformed" },
  {
    name: "501 packages",
    text: rel({ packages: Array.from({ length: 501 }, (_, i) => ({ name: `p${i}`, version: "1" })) }),
    reason: "malformed",
  },
  {
    name: "a version lower than the last accepted (rollback)",
    text: rel(),
    last: () => ({ version: "10.11.7", digest: `sha256:${"0".repeat(64)}` }),
    reason: "rollback",
  },
  {
    name: "the last accepted version with other content",
    text: rel({ holdsData: false }),
    last: () => ({ version: "10.11.6", digest: manifestDigest(baseManifest()) }),
    reason: "version-reused",
  },
  { name: "an expired release", text: rel({ notAfter: "2020-01-01T00:00:00Z" }), reason: "expired" },
  { name: "a notAfter ten years away", text: rel({ notAfter: inDays(3650) }), reason: "lifetime-too-long" },
  { name: "a release signed by a service certificate", text: rel({}, (h) => h.service), reason: "wrong-eku" },
  {
    name: "a release signed by a computer certificate",
    text: rel({}, (h) => h.computer),
    reason: "wrong-eku",
  },
  {
    name: "a release signed by a codeSigning certificate of a computer identity",
    text: rel({}, (h) => h.codeSigningComputer),
    reason: "wrong-kind",
  },
  {
    name: "a release signed by dc2's alice (dc1/software/alice is authorised)",
    text: rel({}, (h) => h.dc2Alice),
    reason: "unauthorised-signer",
  },
  {
    name: "a release signed by a signer not authorised for its name",
    text: rel({}, (h) => h.controlPlane),
    reason: "unauthorised-signer",
  },
  {
    name: "a release signed under a foreign root",
    text: rel({}, (h) => h.foreignAlice),
    reason: "untrusted-signer",
  },
  {
    name: "a release signed by a software signer a site's online CA minted",
    text: rel({}, (h) => h.mintedByOnlineCa),
    reason: "untrusted-signer",
  },
  {
    name: "a release signed by an expired certificate",
    text: rel({}, (h) => h.expired),
    reason: "signer-expired",
  },
  {
    name: "a release signed by a revoked certificate",
    text: rel({}, (h) => h.bob),
    crls: (h) => [h.crlRevokingBob],
    reason: "revoked",
  },
  {
    name: "a document of 2 MiB",
    text: rel({ configTemplates: [{ path: "a", template: "x".repeat(2 << 20) }] }),
    reason: "too-large",
  },
  { name: "JSON nested 10,000 deep", text: () => `{"manifest":${"[".repeat(10_000)}`, reason: "too-deep" },
  {
    name: "a __proto__ key",
    text: (h) => rel()(h).replace('"holdsData"', '"__proto__":{"holdsData":false},"holdsData"'),
    reason: "malformed",
  },
  { name: "a truncated document", text: (h) => rel()(h).slice(0, 200), reason: "malformed" },
  { name: "an empty document", text: () => "", reason: "malformed" },
];
