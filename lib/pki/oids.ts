/**
 * The object identifiers zeroroot names, free of the ASN.1 library so that code bundled without it
 * (the policy pack reaches lib/pki/identity.ts through its rules) can use them. The EKU values are
 * RFC 5280's id-kp-*; test/unit/pki/oids.test.ts checks them against @peculiar/asn1-x509's.
 */
export const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
} as const;

export type Eku = "serverAuth" | "clientAuth" | "codeSigning";

export function ekuOid(use: Eku): string {
  return OID[use];
}
