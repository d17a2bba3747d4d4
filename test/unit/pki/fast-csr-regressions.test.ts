import { strict as assert } from "node:assert";
import * as pki from "../../../lib/pki";
import { parseCsrWithSchema } from "../../../lib/pki/csr";
import { readCsrParts } from "../../../lib/pki/fast-csr";
import { judge } from "../../fuzz/csr-oracle";

/**
 * Inputs the differential fuzz (test/fuzz, docs/testing.md) found, minimised to one oddity each in
 * an otherwise valid CSR for CN=alice, signed by the corpus' P-256 test key (so that the signature is
 * never the reason for a verdict). Before the fix the fast path took each of them.
 */
const SIGNED_BY_CORPUS_KEY = {
  universalString9Bytes:
    "3081e0308186020100302431123010060355040b1c09616263646566676869310e300c06035504030c05616c6963653059301306072a8648ce3d020106082a8648ce3d03010703420004b322f96b5a11c6324b8c8ecd88178ae85a658a609a20f18bc3bcfb20fcf518a3d03fe519f8791765c57c5b9e5c1d914ae541d92ecb1fe70ac2bed00e3a8ad374a000300a06082a8648ce3d0403020349003046022100997d3b90e6c996802c671f2b1b816100ec60c3fa08ca6001ca6e512543add289022100d2c4f48c674224428d755fcbd4dfdfe35f5ba94ce5176622433ef378e2cc1129",
  truncatedAttributeOid:
    "3081d4307d020100301b3109300706022a860c0178310e300c06035504030c05616c6963653059301306072a8648ce3d020106082a8648ce3d03010703420004b322f96b5a11c6324b8c8ecd88178ae85a658a609a20f18bc3bcfb20fcf518a3d03fe519f8791765c57c5b9e5c1d914ae541d92ecb1fe70ac2bed00e3a8ad374a000300a06082a8648ce3d04030203470030440220615e857e9707f08fdeb48b0f89b3ce1c6bcdebf0e74ff1e6a85911b30f482c5d0220583d239562c15598e2e088dc54b6afd85fb78337ff34f27db6176a8fde1c198e",
  primitiveSequence:
    "3081e13081870201003010310e300c06035504030c05616c6963653059301306072a8648ce3d020106082a8648ce3d03010703420004b322f96b5a11c6324b8c8ecd88178ae85a658a609a20f18bc3bcfb20fcf518a3d03fe519f8791765c57c5b9e5c1d914ae541d92ecb1fe70ac2bed00e3a8ad374a015301306092a864886f70d01090e3106300010020405300a06082a8648ce3d0403020349003046022100da9d0ac146714320eaa474d4a3b5c013db3d38d1ec2fceab9906c35306835e75022100a6b5b3d2193d51ffd039dc6332706d24e759a1c2b79aaef4e434996adeaf4be1",
  spkiUnusedBits:
    "3081ca30720201003010310e300c06035504030c05616c6963653059301306072a8648ce3d020106082a8648ce3d03010703420104b322f96b5a11c6324b8c8ecd88178ae85a658a609a20f18bc3bcfb20fcf518a3d03fe519f8791765c57c5b9e5c1d914ae541d92ecb1fe70ac2bed00e3a8ad374a000300a06082a8648ce3d0403020348003045022100d8c32b28df7d05a83798183db04abbefcd0f9befa688181b36ca7632a8d411ce0220449f2169b377e46b628a2a079ef195fefe2eef8a2a12d2db004cd2d372690d87",
  pointAtInfinity:
    "30818a30320201003010310e300c06035504030c05616c6963653019301306072a8648ce3d020106082a8648ce3d03010703020000a000300a06082a8648ce3d0403020348003045022100baff8a4ff6e3f268317274fc62e6370fe572797cc7caec669eb57ca3ba77364e02203501420aa37aa5a10adb1f90c8cca45bf83a03e067d6dc89bf1eecaba8c10e4f",
};

const P256_SPKI_DER =
  "3059301306072a8648ce3d020106082a8648ce3d03010703420004b322f96b5a11c6324b8c8ecd88178ae85a658a609a20f18bc3bcfb20fcf518a3d03fe519f8791765c57c5b9e5c1d914ae541d92ecb1fe70ac2bed00e3a8ad374";

const DECLINED_AND_REFUSED: { what: string; hex: string }[] = [
  {
    what: "a UniversalString of 9 bytes (not a whole number of characters) in another name part",
    hex: SIGNED_BY_CORPUS_KEY.universalString9Bytes,
  },
  { what: "a truncated OID as another attribute's type", hex: SIGNED_BY_CORPUS_KEY.truncatedAttributeOid },
  {
    what: "a primitive SEQUENCE tag in the extensionRequest's second value",
    hex: SIGNED_BY_CORPUS_KEY.primitiveSequence,
  },
];

describe("CSR fast path: disagreements the differential fuzz found", () => {
  for (const { what, hex } of DECLINED_AND_REFUSED) {
    it(`leaves ${what} to the schema parser, which refuses it (bad-csr)`, () => {
      const der = Buffer.from(hex, "hex");
      assert.equal(readCsrParts(der), undefined);
      assert.throws(() => pki.parseCsr(der), { code: "bad-csr" });
      assert.notEqual(judge(der).kind, "disagree");
    });
  }

  it("leaves a public key BIT STRING with unused bits to the schema parser, which re-encodes the SPKI in DER", () => {
    const der = Buffer.from(SIGNED_BY_CORPUS_KEY.spkiUnusedBits, "hex");
    assert.equal(readCsrParts(der), undefined);
    // The raw SPKI (unused-bits byte 01) must never reach a certificate; both readers give the DER one.
    assert.equal(pki.parseCsr(der).spkiDer.toString("hex"), P256_SPKI_DER);
    assert.equal(judge(der).kind, "deferred");
  });

  it("refuses an EC public key at the point at infinity on both paths (weak-key) instead of aborting Node", () => {
    const der = Buffer.from(SIGNED_BY_CORPUS_KEY.pointAtInfinity, "hex");
    assert.ok(readCsrParts(der), "the fast path reads this CSR's shape");
    assert.throws(() => pki.parseCsr(der), { code: "weak-key" });
    assert.throws(() => parseCsrWithSchema(der), { code: "weak-key" });
  });
});
