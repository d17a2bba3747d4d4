/** Hostile CRLs: what may be handed to a verifier to hide a revocation or to wedge it. */
import * as crypto from "node:crypto";
import * as pki from "../../../lib/pki";
import { forgeCrl } from "../pki/forge";
import { DAY, der, pemOf, type Fixture, type Row } from "./pki-fixture";
import { critical } from "./pki-verification";

export function crlRows({ h, foreign, good, goodChain, lax, crlOf, verdict }: Fixture): Row[] {
  const leadingZero = Buffer.concat([Buffer.from([0x0a]), crypto.randomBytes(15)]);
  const dc1Serial = pki.parseCertificate(h.dc1.certificatePem).serial;
  const revokedStale = {
    thisUpdate: new Date(Date.now() - 10 * DAY),
    nextUpdate: new Date(Date.now() - DAY),
  };
  return [
    [
      "a current CRL listing nothing (control row)",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 1)] }),
      "ok",
    ],
    ["revoked certificate", () => verdict(goodChain, { crls: [crlOf(h.dc1, 2, [good.serial])] }), "revoked"],
    [
      "revoked in the newer of two CRLs, the older given first",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 3), crlOf(h.dc1, 4, [good.serial])] }),
      "revoked",
    ],
    [
      "revoked in the newer of two CRLs, the older given last",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 6, [good.serial]), crlOf(h.dc1, 5)] }),
      "revoked",
    ],
    [
      "a forged newer CRL that would lift a revocation",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 7, [good.serial]), crlOf(foreign.dc1, 999)] }),
      "crl-bad-signature",
    ],
    [
      "CRL signed by another key",
      () => verdict(goodChain, { crls: [crlOf(foreign.dc1, 1)] }),
      "crl-bad-signature",
    ],
    ["stale CRL", () => verdict(goodChain, { crls: [crlOf(h.dc1, 8, [], revokedStale)] }), "crl-expired"],
    [
      "stale CRL revoking it, not strict",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 9, [good.serial], revokedStale)], strictCrl: false }),
      "revoked",
    ],
    [
      "truncated CRL",
      () =>
        verdict(goodChain, { crls: [pemOf(der(crlOf(h.dc1, 10), "X509 CRL").subarray(0, 60), "X509 CRL")] }),
      "malformed",
    ],
    [
      "garbage CRL",
      () => verdict(goodChain, { crls: ["-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"] }),
      "malformed",
    ],
    [
      "CRL over 4 MiB",
      () => verdict(goodChain, { crls: [pemOf(Buffer.alloc(4 * 1024 * 1024 + 1, 0x30), "X509 CRL")] }),
      "too-large",
    ],
    ["65 CRLs", () => verdict(goodChain, { crls: Array(65).fill(crlOf(h.dc1, 11)) }), "too-large"],
    [
      "no CRL of the leaf's issuer (only the root's)",
      () => verdict(goodChain, { crls: [crlOf(h.root.ca, 1)] }),
      "crl-missing",
    ],
    [
      "delta CRL (critical deltaCRLIndicator)",
      () => verdict(goodChain, { crls: [forgeCrl(h.dc1, { number: 12, extra: [critical("2.5.29.27")] })] }),
      "unknown-critical-extension",
    ],
    [
      "revoked serial with a leading zero nibble",
      () =>
        verdict([lax({ serial: leadingZero }), h.dc1.certificatePem], {
          crls: [forgeCrl(h.dc1, { number: 13, revoked: [leadingZero.toString("hex")] })],
        }),
      "revoked",
    ],
    [
      "revoked issuing CA (root's CRL)",
      () => verdict(goodChain, { crls: [crlOf(h.dc1, 14), crlOf(h.root.ca, 2, [dc1Serial])] }),
      "revoked",
    ],
  ];
}
