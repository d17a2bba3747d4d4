/** lib/pki/oids.ts writes the EKU identifiers out so that it needs no ASN.1 library: they must be RFC 5280's. */
import { strict as assert } from "node:assert";
import * as x from "@peculiar/asn1-x509";
import { OID } from "../../../lib/pki/oids";

describe("object identifiers written without the ASN.1 library", () => {
  it("are the library's id-kp-serverAuth, id-kp-clientAuth and id-kp-codeSigning", () => {
    assert.equal(OID.serverAuth, x.id_kp_serverAuth);
    assert.equal(OID.clientAuth, x.id_kp_clientAuth);
    assert.equal(OID.codeSigning, x.id_kp_codeSigning);
  });
});
