/**
 * The hierarchy the hostile-input tables of lib/pki attack, and the helpers that turn each attack into
 * one comparable outcome: a PkiError code at issuance, a verifyIdentity reason at verification.
 */
import * as pki from "../../../lib/pki";
import { fromPem, toPem } from "../../../lib/pki/asn";
import { forge, type Forged } from "../pki/forge";

export const DAY = 86_400_000;
export const Z1 = "dc1.zeroroot.example";
export const Z2 = "dc2.zeroroot.example";

/** One attack: what it is, how to run it, and the outcome it must get ("ok" for control rows). */
export type Row = readonly [title: string, run: () => string, expected: string];

/** The hierarchy under attack: root; dc1 (a network), dc2 (no network), dc1's site CA (computer, service). */
function hierarchy(rootName = "zeroroot root CA") {
  const root = pki.createRootCa({ commonName: rootName });
  const issuing = (zone: string, networks: string[], kinds?: pki.LeafKind[]) => {
    const key = pki.generateKeyPair();
    const csr = pki.createCsr({ commonName: `${zone} issuing CA` }, key.privateKey);
    const cert = pki.issueFromCsr(root.ca, "issuing", csr, {
      nameScope: { dnsZones: [zone], ipNetworks: networks, kinds },
    });
    return pki.loadCa(cert.certificatePem, pki.exportPkcs8(key.privateKey));
  };
  return {
    root,
    dc1: issuing(Z1, ["10.77.1.0/24"]),
    dc2: issuing(Z2, []),
    site1: issuing(Z1, [], ["computer", "service"]),
  };
}

/** The PkiError code an action ends with, "issued" when it succeeds; any other error is a bug. */
export function refusalOf(action: () => unknown): string {
  try {
    action();
    return "issued";
  } catch (err) {
    if (err instanceof pki.PkiError) return err.code;
    return `unexpected ${(err as Error).name}: ${(err as Error).message}`;
  }
}

export const der = (pem: string, label: string): Buffer => Buffer.from(fromPem(pem, label));
export const pemOf = (bytes: Buffer, label: string): string => toPem(bytes, label);

export type Fixture = ReturnType<typeof makeFixture>;

/** Keys and CAs are made once per run: key generation dominates the time of these tables. */
export function makeFixture() {
  const h = hierarchy();
  const foreign = hierarchy(); // same names, other keys
  const key = pki.generateKeyPair();
  const csr = (cn: string, names: { dnsNames?: string[]; ipAddresses?: string[] } = {}, k = key.privateKey) =>
    pki.createCsr({ commonName: cn, ...names }, k);
  const issue = (
    ca: pki.CertificateAuthority,
    kind: pki.ProfileName,
    req: string | Buffer,
    auth: pki.Authorisation = {},
  ) => refusalOf(() => pki.issueFromCsr(ca, kind, req, auth));

  const good = pki.issueFromCsr(h.dc1, "user", csr("alice"));
  const goodChain = [good.certificatePem, h.dc1.certificatePem];
  const uri = (kind: pki.LeafKind, name: string, zone = Z1) => `zeroroot://${kind}.${zone}/${name}`;
  /** A user leaf as a lax dc1 CA would sign it; `f` overrides any field. */
  const lax = (f: Partial<Forged> = {}, ca = h.dc1) =>
    forge(ca, {
      cn: "alice",
      publicKey: key.publicKey,
      eku: ["clientAuth"],
      uris: [uri("user", "alice")],
      ...f,
    });
  const crlOf = (
    ca: pki.CertificateAuthority,
    number: number,
    revoked: string[] = [],
    more: Partial<pki.CrlOptions> = {},
  ) =>
    pki.issueCrl(
      ca,
      revoked.map((serial) => ({ serial, reason: "keyCompromise" as const, revokedAt: new Date() })),
      { number, ...more },
    );
  const verdict = (
    chain: string | Buffer | readonly (string | Buffer)[],
    opts: Partial<pki.VerifyOptions> & { expect?: pki.IdentityExpectation } = {},
    root: string = h.root.certificatePem,
  ): string => {
    const r = pki.verifyIdentity(chain, root, { use: "clientAuth", ...opts });
    return r.ok ? "ok" : r.reason;
  };
  return { h, foreign, key, csr, issue, good, goodChain, uri, lax, crlOf, verdict };
}
