/**
 * The seed corpus of the CSR fuzz: valid CSRs of every key kind and of the shapes createCsr, openssl
 * and hand-built unusual encodings produce, with their (test-only) private keys so that mutated
 * CertificationRequestInfos can be re-signed. Stored in corpus.json, made by make-corpus.ts, so that a
 * seed replays the same inputs on every machine (key generation and ECDSA signing are random).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pki from "../../lib/pki";
import { tlv } from "../../lib/pki/fast-der";
import { parseTree, type DerNode } from "./der-tree";

export const CORPUS_FILE = path.join(__dirname, "corpus.json");

export interface CorpusFile {
  readonly note: string;
  readonly keys: Record<pki.KeyKind, string>;
  readonly csrs: { readonly name: string; readonly key: pki.KeyKind; readonly der: string }[];
}

export interface CorpusEntry {
  readonly name: string;
  readonly keyKind: pki.KeyKind;
  readonly key: crypto.KeyObject;
  readonly der: Buffer;
  readonly tree: DerNode;
}

const SIG_ALG: Record<string, string> = {
  sha256: "06082a8648ce3d040302",
  sha384: "06082a8648ce3d040303",
  rsa: "06092a864886f70d01010b0500",
};

/** The hash the key kind signs with (as createCsr does). */
export function hashOf(kind: pki.KeyKind): "sha256" | "sha384" {
  return kind === "ec-p384" ? "sha384" : "sha256";
}

/** The signature's value: `cri` signed by `key` as createCsr signs. */
export function signatureOf(cri: Buffer, key: crypto.KeyObject, kind: pki.KeyKind): Buffer {
  return crypto.sign(hashOf(kind), cri, key);
}

/** A CSR of `cri` signed by `key`; `algDer` overrides the signatureAlgorithm's contents. */
export function signedCsr(cri: Buffer, key: crypto.KeyObject, kind: pki.KeyKind, algDer?: Buffer): Buffer {
  const alg = algDer ?? Buffer.from(kind.startsWith("rsa") ? SIG_ALG.rsa : SIG_ALG[hashOf(kind)], "hex");
  const sig = signatureOf(cri, key, kind);
  return tlv(0x30, cri, tlv(0x30, alg), tlv(0x03, Buffer.from([0]), sig));
}

export function loadCorpus(file = CORPUS_FILE): CorpusEntry[] {
  const data = JSON.parse(fs.readFileSync(file, "utf8")) as CorpusFile;
  const keys = new Map(
    Object.entries(data.keys).map(([kind, pem]) => [kind, pki.loadPrivateKey(pem)] as const),
  );
  return data.csrs.map((c) => {
    const der = Buffer.from(c.der, "base64");
    return {
      name: c.name,
      keyKind: c.key,
      key: keys.get(c.key) as crypto.KeyObject,
      der,
      tree: parseTree(der),
    };
  });
}
