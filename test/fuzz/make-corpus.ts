/**
 * Writes test/fuzz/corpus.json: fresh test-only keys of every kind and valid CSRs of many shapes.
 * Run it only to change the corpus (`npx tsx test/fuzz/make-corpus.ts`); the fuzz reads the file so
 * that a seed replays the same inputs. The keys sign nothing but these CSRs.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pki from "../../lib/pki";
import { fromPem } from "../../lib/pki/asn";
import { tlv } from "../../lib/pki/fast-der";
import { CORPUS_FILE, signedCsr, type CorpusFile } from "./corpus";

const hex = (h: string) => Buffer.from(h, "hex");
const str = (s: string, enc: BufferEncoding = "utf8") => Buffer.from(s, enc);

const OID = {
  cn: hex("550403"),
  o: hex("55040a"),
  ou: hex("55040b"),
  extReq: hex("2a864886f70d01090e"),
  challengePassword: hex("2a864886f70d010907"),
  san: hex("551d11"),
  keyUsage: hex("551d0f"),
  unknown: hex("2b0601040183e07c01"), // a private-enterprise arc
};

type Atv = readonly [oid: Buffer, tag: number, value: Buffer];
const name = (...rdns: Atv[][]) =>
  tlv(0x30, ...rdns.map((rdn) => tlv(0x31, ...rdn.map(([o, t, v]) => tlv(0x30, tlv(0x06, o), tlv(t, v))))));
const cn = (v: string, tag = 0x0c): Atv => [OID.cn, tag, str(v)];
const ext = (oid: Buffer, value: Buffer, critical = false) =>
  tlv(0x30, tlv(0x06, oid), ...(critical ? [hex("0101ff")] : []), tlv(0x04, value));
const san = (...gns: [number, Buffer][]) => tlv(0x30, ...gns.map(([t, v]) => tlv(t, v)));
const extReq = (...exts: Buffer[]) => tlv(0x30, tlv(0x06, OID.extReq), tlv(0x31, tlv(0x30, ...exts)));
const dns = (s: string): [number, Buffer] => [0x82, str(s)];
const ip = (h: string): [number, Buffer] => [0x87, hex(h)];

function main(): void {
  const keys = new Map(pki.KEY_KINDS.map((k) => [k, pki.generateKeyPair(k)] as const));
  const priv = (k: pki.KeyKind) => (keys.get(k) as pki.KeyPair).privateKey;
  const spki = (k: pki.KeyKind) =>
    (keys.get(k) as pki.KeyPair).publicKey.export({ type: "spki", format: "der" });
  const csrs: CorpusFile["csrs"] = [];
  const add = (n: string, key: pki.KeyKind, der: Buffer) =>
    csrs.push({ name: n, key, der: der.toString("base64") });
  const built = (n: string, key: pki.KeyKind, subject: Buffer, ...attrs: Buffer[]) =>
    add(n, key, signedCsr(tlv(0x30, hex("020100"), subject, spki(key), tlv(0xa0, ...attrs)), priv(key), key));

  for (const k of pki.KEY_KINDS) {
    add(
      `createCsr ${k} CN only`,
      k,
      fromPem(pki.createCsr({ commonName: "alice" }, priv(k)), "CERTIFICATE REQUEST"),
    );
    const subject = {
      commonName: "pg.dc1.zeroroot.example",
      dnsNames: ["pg.dc1.zeroroot.example", "db.dc1.zeroroot.example"],
      ipAddresses: ["10.77.1.9", "fd00:77::9"],
    };
    add(`createCsr ${k} with SANs`, k, fromPem(pki.createCsr(subject, priv(k)), "CERTIFICATE REQUEST"));
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zeroroot-corpus-"));
  const openssl = (n: string, key: pki.KeyKind, args: string[], config?: string) => {
    const keyFile = path.join(dir, `${key}.pem`);
    fs.writeFileSync(keyFile, pki.exportPkcs8(priv(key)));
    const cfg = config ? ["-config", path.join(dir, "req.cnf")] : [];
    if (config) fs.writeFileSync(path.join(dir, "req.cnf"), config);
    const out = path.join(dir, "out.der");
    const r = spawnSync("openssl", [
      "req",
      "-new",
      "-key",
      keyFile,
      ...cfg,
      "-outform",
      "DER",
      "-out",
      out,
      ...args,
    ]);
    if (r.status !== 0) throw new Error(`openssl req (${n}): ${r.stderr.toString()}`);
    add(`openssl ${n}`, key, fs.readFileSync(out));
  };
  const sanExt = "subjectAltName=DNS:PG.dc1.zeroroot.example,IP:10.77.1.9,IP:fd00::1";
  openssl("DNS and IP SANs", "ec-p256", [
    "-subj",
    "/O=zeroroot/CN=pg.dc1.zeroroot.example",
    "-addext",
    sanExt,
  ]);
  openssl("critical extensions", "ec-p256", [
    "-subj",
    "/CN=sneaky",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=keyCertSign",
  ]);
  openssl("no CN", "ec-p256", ["-subj", "/OU=no common name"]);
  openssl("multi-valued RDN, URI SAN", "rsa-3072", [
    "-multivalue-rdn",
    "-subj",
    "/CN=a+O=b",
    "-addext",
    "subjectAltName=URI:zeroroot://computer.dc1.zeroroot.example/dc1-s01,DNS:s01.dc1.zeroroot.example",
  ]);
  openssl("UTF-8, two CNs", "ec-p256", ["-utf8", "-subj", "/CN=\u00fcn\u00efcode/CN=second"]);
  openssl(
    "challengePassword, PrintableString",
    "ec-p384",
    [],
    [
      "[req]",
      "distinguished_name = dn",
      "attributes = attrs",
      "prompt = no",
      "string_mask = default",
      "[dn]",
      "CN = printable.dc1.zeroroot.example",
      "[attrs]",
      "challengePassword = not-a-secret",
      "",
    ].join("\n"),
  );
  fs.rmSync(dir, { recursive: true, force: true });

  const p256 = "ec-p256";
  built(
    "PrintableString CN, Teletex O",
    p256,
    name([cn("printable", 0x13)], [[OID.o, 0x14, str("teletex")]]),
  );
  built("IA5String CN", p256, name([cn("ia5-cn", 0x16)]));
  built(
    "BMPString CN",
    p256,
    name([[OID.cn, 0x1e, str("bmp", "utf16le").swap16()]]),
    extReq(ext(OID.san, san(dns("a.b")))),
  );
  built("UniversalString OU", p256, name([[OID.ou, 0x1c, hex("0000006100000062")]], [cn("u")]));
  built("SEQUENCE-valued O", p256, name([[OID.o, 0x30, tlv(0x02, hex("05"))]], [cn("seq")]));
  built("BOM in CN", p256, name([cn("\ufeffbom")]));
  built("NUL in CN", p256, name([cn("a\0b")]));
  built("empty CN", p256, name([cn("")]));
  built("empty subject", p256, name());
  built("multi-valued RDN", p256, name([[OID.o, 0x0c, str("zeroroot")], cn("mv")]));
  built(
    "critical SAN, keyUsage, unknown extension",
    p256,
    name([cn("exts")]),
    extReq(
      ext(OID.keyUsage, hex("03020780"), true),
      ext(OID.san, san(dns("x.dc1.zeroroot.example"), ip("0a4d0101")), true),
      ext(OID.unknown, tlv(0x30, tlv(0x0c, str("opaque")))),
    ),
  );
  built(
    "two SAN extensions",
    p256,
    name([cn("two")]),
    extReq(ext(OID.san, san(dns("first"))), ext(OID.san, san(dns("second")))),
  );
  built(
    "two extensionRequests",
    p256,
    name([cn("twice")]),
    extReq(ext(OID.san, san(dns("one")))),
    extReq(ext(OID.san, san(dns("two")))),
  );
  built(
    "extensionRequest with two values",
    p256,
    name([cn("values")]),
    tlv(
      0x30,
      tlv(0x06, OID.extReq),
      tlv(0x31, tlv(0x30, ext(OID.san, san(dns("v1")))), tlv(0x30, ext(OID.san, san(dns("v2"))))),
    ),
  );
  built(
    "challengePassword before extensionRequest",
    p256,
    name([cn("cp")]),
    tlv(0x30, tlv(0x06, OID.challengePassword), tlv(0x31, tlv(0x0c, str("not-a-secret")))),
    extReq(ext(OID.san, san(dns("cp.dc1.zeroroot.example")))),
  );
  built(
    "email SAN",
    p256,
    name([cn("mail")]),
    extReq(ext(OID.san, san([0x81, str("a@b.example")], dns("m.example")))),
  );
  built(
    "empty and upper-case DNS, IPv6",
    p256,
    name([cn("dns")]),
    extReq(ext(OID.san, san(dns(""), dns("UP.Example"), ip("fd000077000000000000000000000009")))),
  );
  built(
    "long DNS name",
    p256,
    name([cn("long")]),
    extReq(ext(OID.san, san(dns(`${"l".repeat(200)}.example`)))),
  );
  built("long CN", "ec-p384", name([cn("c".repeat(300))]));
  built("empty SAN", p256, name([cn("nosan")]), extReq(ext(OID.san, san())));
  add(
    "ECDSA signature algorithm with NULL parameters",
    p256,
    signedCsr(
      tlv(0x30, hex("020100"), name([cn("null")]), spki(p256), tlv(0xa0)),
      priv(p256),
      p256,
      hex("06082a8648ce3d0403020500"),
    ),
  );

  const file: CorpusFile = {
    note: "Test-only keys and CSRs for the CSR fuzz; made by test/fuzz/make-corpus.ts. Never trust these keys.",
    keys: Object.fromEntries(
      pki.KEY_KINDS.map((k) => [k, pki.exportPkcs8(priv(k)).toString()]),
    ) as CorpusFile["keys"],
    csrs,
  };
  fs.writeFileSync(CORPUS_FILE, `${JSON.stringify(file, null, 2)}\n`);
  console.log(`wrote ${csrs.length} CSRs to ${CORPUS_FILE}`);
}

main();
