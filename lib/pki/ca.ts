/**
 * Certificate authorities and issuance. Issuance only ever starts from a verified CSR: the certificate
 * takes the CSR's public key, the names the caller authorises, and the extensions of its profile.
 */
import * as crypto from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x from "@peculiar/asn1-x509";
import { extension, keyIdentifier, toAb, makeName, nameConstraints, subjectAltName, toPem, OID } from "./asn";
import { parseCertificate, type CertInfo } from "./cert";
import { parseCsr, type ParsedCsr } from "./csr";
import { PkiError } from "./errors";
import { encodeLeafTbs, makeTemplate, signLeaf, type LeafTemplate } from "./fast-cert";
import { readAll, readTlv } from "./fast-der";
import { generateKeyPair, hashFor, keyKindOf, loadPrivateKey, signatureOidFor, type KeyKind } from "./keys";
import { firstNameOutside, normaliseDnsName, normaliseIp, parseCidr, type NameScope } from "./names";
import { profileFor, type Profile, type ProfileName } from "./profiles";

export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly info: CertInfo;
  readonly privateKey: crypto.KeyObject;
}

/** What the caller (operator, site CA service after checking an enrollment token) allows the CSR to get. */
export interface Authorisation {
  /** Subject CN; a CSR asking for another CN is refused. @default - the CSR's CN */
  readonly commonName?: string;
  /** The DNS names the certificate carries. @default - the CSR's requested names, if the profile allows them */
  readonly dnsNames?: readonly string[];
  /** The IP addresses the certificate carries. @default - the CSR's requested addresses, if allowed */
  readonly ipAddresses?: readonly string[];
  /** Only for the issuing profile: the data center's DNS zone(s) and IP networks. */
  readonly nameScope?: { readonly dnsZones: readonly string[]; readonly ipNetworks?: readonly string[] };
  /** @default - the profile's validity; never beyond the CA's own notAfter */
  readonly validityDays?: number;
  readonly organization?: string;
}

export interface IssueOptions {
  /** @default - the current time */
  readonly now?: Date;
}

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly profile: ProfileName;
}

/** Loads a CA from its certificate and private key, refusing a key that does not match. */
export function loadCa(certPem: string, keyPem: string | Buffer, passphrase?: string): CertificateAuthority {
  const info = parseCertificate(certPem);
  const privateKey = loadPrivateKey(keyPem, passphrase);
  const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!spki.equals(info.spkiDer))
    throw new PkiError("bad-input", "the CA private key does not belong to the CA certificate");
  if (!info.isCa)
    throw new PkiError(
      "bad-input",
      `certificate "${info.commonName}" is not a CA (basicConstraints cA is false)`,
    );
  return { certificatePem: toPem(info.der, "CERTIFICATE"), info, privateKey };
}

/** Creates a self-signed root CA; its key is returned to the caller, who must encrypt or hide it. */
export function createRootCa(args: {
  commonName: string;
  organization?: string;
  keyKind?: KeyKind;
  validityDays?: number;
  now?: Date;
}): {
  ca: CertificateAuthority;
  certificatePem: string;
} {
  const profile = profileFor("root");
  const keys = generateKeyPair(args.keyKind ?? "ec-p256");
  const spki = AsnConvert.parse(
    keys.publicKey.export({ type: "spki", format: "der" }),
    x.SubjectPublicKeyInfo,
  );
  const name = makeName(args.commonName, args.organization);
  const now = args.now ?? new Date();
  const der = signTbs(keys.privateKey, {
    issuer: name,
    subject: name,
    spki,
    notBefore: new Date(now.getTime() - 300_000),
    notAfter: new Date(now.getTime() + (args.validityDays ?? profile.validityDays) * 86_400_000),
    extensions: profileExtensions(
      profile,
      keyIdentifier(spki),
      keyIdentifier(spki),
      [],
      [],
      undefined,
      keyKindOf(keys.publicKey),
    ),
  });
  const certificatePem = toPem(der, "CERTIFICATE");
  return {
    ca: loadCa(certificatePem, keys.privateKey.export({ type: "pkcs8", format: "pem" })),
    certificatePem,
  };
}

/** Issues a certificate of `profileName` from a PEM CSR, as `authorisation` allows. */
export function issueFromCsr(
  ca: CertificateAuthority,
  profileName: ProfileName,
  csrPem: string | Buffer,
  authorisation: Authorisation = {},
  opts: IssueOptions = {},
): IssuedCertificate {
  return issueFromCsrWith({}, ca, profileName, csrPem, authorisation, opts);
}

/** Internal knobs of issuance, for the byte-identity tests and the benchmark only. */
export interface IssueInternals {
  /**
   * "template": leaf profiles only, and an error when a field needs the schema encoder; "library": the
   * schema encoder. @default - the template when it can encode the certificate, else the schemas
   */
  readonly encoder?: "template" | "library";
  /** @default - randomSerial() */
  readonly serial?: Buffer;
}

/** issueFromCsr with internal knobs; not part of the public API (lib/pki/index.ts does not export it). */
export function issueFromCsrWith(
  internals: IssueInternals,
  ca: CertificateAuthority,
  profileName: ProfileName,
  csrPem: string | Buffer,
  authorisation: Authorisation = {},
  opts: IssueOptions = {},
): IssuedCertificate {
  const profile = profileFor(profileName);
  if (profile.name === "root")
    throw new PkiError("unknown-kind", "a root CA is self-signed (createRootCa), not issued from a CSR");
  checkSignerFits(ca, profile);
  const csr = parseCsr(csrPem);
  if (!profile.allowedKeys.includes(csr.keyKind)) {
    throw new PkiError(
      "weak-key",
      `profile ${profile.name} does not allow ${csr.keyKind} keys; allowed: ${profile.allowedKeys.join(", ")}`,
    );
  }
  const names = resolveNames(profile, csr, authorisation);
  const scope = profile.name === "issuing" ? resolveScope(authorisation) : undefined;
  if (ca.info.nameScope) {
    const outside = firstNameOutside(ca.info.nameScope, names.dnsNames, names.ipAddresses);
    if (outside !== undefined) {
      throw new PkiError(
        "name-not-permitted",
        `name "${outside}" is outside what CA "${ca.info.commonName}" may certify (${describeScope(ca.info.nameScope)})`,
      );
    }
  }
  const now = opts.now ?? new Date();
  const days = Math.min(authorisation.validityDays ?? profile.validityDays, profile.validityDays);
  const notBefore = new Date(now.getTime() - 300_000);
  const notAfter = new Date(Math.min(now.getTime() + days * 86_400_000, ca.info.notAfter.getTime()));
  const serial = internals.serial ?? randomSerial();
  const subjectKeyId = keyIdentifierOfDer(csr);
  let cert: Buffer | ArrayBuffer | undefined;
  if (!profile.ca && internals.encoder !== "library") {
    const template = leafTemplate(ca, profile, csr.keyKind);
    const tbs = encodeLeafTbs(template, {
      serial,
      notBefore,
      notAfter,
      commonName: names.commonName,
      organization: authorisation.organization,
      spkiDer: csr.spkiDer,
      subjectKeyId,
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
    });
    if (tbs) cert = signLeaf(template, tbs, ca.privateKey);
    else if (internals.encoder === "template")
      throw new Error("issueFromCsrWith: the template encoder cannot encode this certificate");
  }
  cert ??= signTbs(
    ca.privateKey,
    {
      issuer: ca.info.subject,
      subject: makeName(names.commonName, authorisation.organization),
      spki: csr.spki,
      notBefore,
      notAfter,
      extensions: profileExtensions(
        profile,
        subjectKeyId,
        ca.info.subjectKeyId,
        names.dnsNames,
        names.ipAddresses,
        scope,
        csr.keyKind,
      ),
    },
    serial,
  );
  return {
    certificatePem: toPem(cert, "CERTIFICATE"),
    serial: serial.toString("hex"),
    notBefore,
    notAfter,
    profile: profile.name,
  };
}

/**
 * Constant parts of a leaf profile's TBSCertificate for one CA, encoded once by the schemas. Keyed by
 * the CA object, so a reloaded CA gets fresh templates.
 */
const templates = new WeakMap<CertificateAuthority, Map<string, LeafTemplate>>();
const PLACEHOLDER_KEY_ID = Buffer.alloc(20, 0x5a);

function leafTemplate(ca: CertificateAuthority, profile: Profile, keyKind: KeyKind): LeafTemplate {
  let byProfile = templates.get(ca);
  if (!byProfile) templates.set(ca, (byProfile = new Map()));
  // keyUsage is the only extension that depends on the subject key (RSA service keys add keyEncipherment).
  const rsa = keyKind.startsWith("rsa");
  const id = `${profile.name}:${rsa}`;
  let t = byProfile.get(id);
  if (!t) {
    t = makeTemplate({
      hash: hashFor(ca.privateKey),
      signatureAlgorithm: signatureAlgorithmFor(ca.privateKey),
      issuerDer: Buffer.from(AsnConvert.serialize(ca.info.subject)),
      extensions: profileExtensions(
        profile,
        PLACEHOLDER_KEY_ID,
        ca.info.subjectKeyId,
        [],
        [],
        undefined,
        keyKind,
      ),
      placeholderKeyId: PLACEHOLDER_KEY_ID,
    });
    byProfile.set(id, t);
  }
  return t;
}

/** keyIdentifier() of the CSR's key, read from the SPKI DER without parsing it with the schema. */
function keyIdentifierOfDer(csr: ParsedCsr): Buffer {
  const der = csr.spkiDer;
  const outer = readTlv(der, 0, der.length);
  const parts = outer && readAll(der, outer.value, outer.end);
  const bits = parts && parts.length === 2 && parts[1].tag === 0x03 ? parts[1] : undefined;
  if (!bits || bits.end - bits.value < 1) return keyIdentifier(csr.spki);
  return crypto
    .createHash("sha1")
    .update(der.subarray(bits.value + 1, bits.end))
    .digest();
}

function checkSignerFits(ca: CertificateAuthority, profile: Profile): void {
  if (profile.name === "issuing" && !ca.info.selfSigned) {
    throw new PkiError(
      "bad-input",
      `an issuing CA must be signed by the root; "${ca.info.commonName}" is not a root`,
    );
  }
  if (profile.name !== "issuing" && ca.info.selfSigned) {
    throw new PkiError(
      "bad-input",
      `${profile.name} certificates are issued by a data center's issuing CA, not by the root "${ca.info.commonName}"`,
    );
  }
}

function resolveNames(profile: Profile, csr: ReturnType<typeof parseCsr>, auth: Authorisation) {
  const commonName = auth.commonName ?? csr.commonName;
  if (!commonName)
    throw new PkiError("bad-csr", "the CSR has no common name and the authorisation gives none");
  if (auth.commonName !== undefined && csr.commonName !== undefined && csr.commonName !== auth.commonName) {
    throw new PkiError(
      "name-not-authorised",
      `the CSR asks for CN "${csr.commonName}" but only "${auth.commonName}" is authorised`,
    );
  }
  const dnsNames = (auth.dnsNames ?? csr.dnsNames).map((n) => normaliseDnsName(n, "dnsNames"));
  const ipAddresses = (auth.ipAddresses ?? csr.ipAddresses).map((n) => normaliseIp(n, "ipAddresses"));
  const extraDns = csr.dnsNames.find((n) => !dnsNames.includes(n));
  const extraIp = csr.ipAddresses.find((n) => !ipAddresses.includes(n));
  if (extraDns ?? extraIp)
    throw new PkiError(
      "name-not-authorised",
      `the CSR asks for "${extraDns ?? extraIp}", which is not authorised for it`,
    );
  if (!profile.allowDns && dnsNames.length)
    throw new PkiError(
      "name-not-authorised",
      `${profile.name} certificates carry no DNS names (got "${dnsNames[0]}")`,
    );
  if (!profile.allowIp && ipAddresses.length)
    throw new PkiError(
      "name-not-authorised",
      `${profile.name} certificates carry no IP addresses (got "${ipAddresses[0]}")`,
    );
  return { commonName, dnsNames, ipAddresses };
}

function resolveScope(auth: Authorisation): NameScope {
  const s = auth.nameScope;
  if (!s || s.dnsZones.length === 0)
    throw new PkiError(
      "bad-input",
      "an issuing CA needs nameScope.dnsZones (its data center's DNS zone, e.g. dc1.zeroroot.example)",
    );
  const ipNetworks = (s.ipNetworks ?? []).map((n) => (parseCidr(n, "nameScope.ipNetworks"), n));
  return {
    dnsZones: s.dnsZones.map((z) => normaliseDnsName(z, "nameScope.dnsZones")),
    ipNetworks,
    excludeAllIps: ipNetworks.length === 0,
  };
}

export function describeScope(scope: NameScope): string {
  const ips = scope.ipNetworks.length ? scope.ipNetworks.join(", ") : "no IP addresses";
  return `DNS under ${scope.dnsZones.join(", ") || "anything"}; IPs in ${ips}`;
}

function profileExtensions(
  profile: Profile,
  subjectKeyId: Buffer,
  authorityKeyId: Buffer,
  dnsNames: readonly string[],
  ips: readonly string[],
  scope: NameScope | undefined,
  keyKind: KeyKind,
): x.Extension[] {
  const usage = profile.ca
    ? x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign
    : x.KeyUsageFlags.digitalSignature |
      (keyKind.startsWith("rsa") && profile.name === "service" ? x.KeyUsageFlags.keyEncipherment : 0);
  const exts = [
    extension(
      x.id_ce_basicConstraints,
      true,
      new x.BasicConstraints({ cA: profile.ca, pathLenConstraint: profile.ca ? profile.pathLen : undefined }),
    ),
    extension(x.id_ce_keyUsage, true, new x.KeyUsage(usage)),
    extension(x.id_ce_subjectKeyIdentifier, false, new x.SubjectKeyIdentifier(subjectKeyId)),
    extension(
      x.id_ce_authorityKeyIdentifier,
      false,
      new x.AuthorityKeyIdentifier({ keyIdentifier: new x.KeyIdentifier(authorityKeyId) }),
    ),
  ];
  if (profile.extendedKeyUsage.length)
    exts.push(
      extension(
        x.id_ce_extKeyUsage,
        false,
        new x.ExtendedKeyUsage(profile.extendedKeyUsage.map((e) => OID[e])),
      ),
    );
  if (dnsNames.length + ips.length)
    exts.push(extension(x.id_ce_subjectAltName, false, subjectAltName(dnsNames, ips)));
  if (scope) exts.push(extension(x.id_ce_nameConstraints, true, nameConstraints(scope)));
  return exts;
}

interface TbsFields {
  readonly issuer: x.Name;
  readonly subject: x.Name;
  readonly spki: x.SubjectPublicKeyInfo;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: x.Extension[];
}

const serialPool = Buffer.alloc(16 * 256);
let serialPoolUsed = serialPool.length;

/** 128-bit random positive serial with a fixed length (top bits 01), as CAs/Browser Forum practice suggests. */
export function randomSerial(): Buffer {
  // Drawn from a pool refilled by the CSPRNG: one randomBytes call per 256 serials instead of per serial.
  if (serialPoolUsed >= serialPool.length) {
    crypto.randomFillSync(serialPool);
    serialPoolUsed = 0;
  }
  const s = Buffer.from(serialPool.subarray(serialPoolUsed, serialPoolUsed + 16));
  serialPool.fill(0, serialPoolUsed, serialPoolUsed + 16);
  serialPoolUsed += 16;
  s[0] = (s[0] & 0x3f) | 0x40;
  return s;
}

function signatureAlgorithmFor(key: crypto.KeyObject): x.AlgorithmIdentifier {
  return new x.AlgorithmIdentifier({
    algorithm: signatureOidFor(key),
    parameters: key.asymmetricKeyType === "rsa" ? null : undefined,
  });
}

function signTbs(key: crypto.KeyObject, f: TbsFields, serial: Buffer = randomSerial()): ArrayBuffer {
  const algorithm = signatureAlgorithmFor(key);
  const tbs = new x.TBSCertificate({
    version: x.Version.v3,
    serialNumber: toAb(serial),
    signature: algorithm,
    issuer: f.issuer,
    validity: new x.Validity({ notBefore: f.notBefore, notAfter: f.notAfter }),
    subject: f.subject,
    subjectPublicKeyInfo: f.spki,
    extensions: new x.Extensions(f.extensions),
  });
  const signature = crypto.sign(hashFor(key), Buffer.from(AsnConvert.serialize(tbs)), key);
  const cert = AsnConvert.serialize(
    new x.Certificate({
      tbsCertificate: tbs,
      signatureAlgorithm: algorithm,
      signatureValue: toAb(signature),
    }),
  );
  return cert;
}
