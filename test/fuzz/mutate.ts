/**
 * Seeded mutations of DER documents: structure-aware ones on a TLV tree (lengths, tags, splicing,
 * nesting, contents) and blind ones on bytes (bit flips, insertions, deletions, truncation). Every
 * choice comes from one PRNG, so a (seed, case index) pair replays the same mutations.
 */
import { clone, nodesOf, type DerNode } from "./der-tree";

/** A small, fast PRNG (mulberry32); `next()` is uniform in [0, 1). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** The generator of case `index` of a run seeded with `seed`: cases replay independently. */
  static forCase(seed: number, index: number): Rng {
    let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return new Rng(h ^ (h >>> 12));
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Tags of every type a CSR uses or a parser may confuse with one (strings, times, context tags, BER-only forms). */
const TAGS = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1c, 0x1e, 0x1f, 0x23,
  0x24, 0x2c, 0x30, 0x31, 0x80, 0x81, 0x82, 0x86, 0x87, 0x88, 0xa0, 0xa1, 0xa3, 0xa4, 0xff,
];

const hex = (h: string) => Buffer.from(h, "hex");
const utf8 = (s: string) => Buffer.from(s, "utf8");

/** Values that probe string decoding, IP lengths, OIDs the parsers look for, and long-form lengths. */
const CONTENTS: readonly Buffer[] = [
  Buffer.alloc(0),
  hex("00"),
  hex("01"),
  hex("ff"),
  hex("80"),
  hex("0000"),
  utf8("pg.dc1.zeroroot.example"),
  utf8("PG.DC1.Zeroroot.Example"),
  utf8("\ufeffbom-cn"),
  utf8("nul\0cn"),
  utf8("caf\u00e9 \u{1f600}"),
  utf8("zeroroot://computer.dc1.zeroroot.example/dc1-s01"),
  utf8("a".repeat(200)),
  hex("c328"), // invalid UTF-8
  hex("c080"), // overlong NUL
  hex("eda080"), // UTF-16 surrogate in UTF-8
  hex("f4908080"), // beyond U+10FFFF
  hex("0a4d0109"), // IPv4
  hex("fd000077000000000000000000000009"), // IPv6
  hex("0a4d010900"), // 5 bytes
  hex("0a4d0100ffffff00"), // address and mask
  hex("550403"), // CN
  hex("55040a"), // O
  hex("551d11"), // subjectAltName
  hex("2a864886f70d01090e"), // extensionRequest
  hex("2a864886f70d010907"), // challengePassword
  hex("2a8648ce3d040302"), // ecdsa-with-SHA256
  hex("2a8648ce3d040303"), // ecdsa-with-SHA384
  hex("2a864886f70d01010b"), // sha256WithRSAEncryption
  hex("2a864886f70d010105"), // sha1WithRSAEncryption
  hex("2a8648ce3d0201"), // id-ecPublicKey
  hex("2a8648ce3d030107"), // P-256
  hex("2b81040022"), // P-384
  hex("2b81040023"), // P-521
  hex("2a864886f70d010101"), // rsaEncryption
  hex("2b6570"), // Ed25519
  hex("8001"), // non-minimal OID arc
  hex("2a8648"), // truncated OID
];

const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x1f, 0x30, 0x31, 0x7f,
];
const MORE_BYTES = [0x80, 0x81, 0x82, 0x83, 0x84, 0x87, 0xa0, 0xff];

type Located = { node: DerNode; parent: DerNode | undefined };
type TreeOp = (rng: Rng, at: Located, donors: readonly DerNode[]) => boolean;

const siblingsOf = (at: Located) => at.parent?.children;

function foreignNode(rng: Rng, donors: readonly DerNode[]): DerNode {
  return clone(rng.pick(nodesOf(rng.pick(donors))).node);
}

/** Structure-aware mutations; each returns false when it does not apply to the node drawn. */
const TREE_OPS: Record<string, TreeOp> = {
  longFormLength: (rng, { node }) => ((node.length = { kind: "long", bytes: 1 + rng.int(3) }), true),
  wrongLength: (rng, { node }) => (
    (node.length = { kind: "delta", delta: rng.pick([-2, -1, 1, 2, 127, -128, -1000]) }),
    true
  ),
  indefiniteLength: (_rng, { node }) =>
    node.children !== undefined && !node.encapsulated && ((node.length = { kind: "indefinite" }), true),
  retag: (rng, { node }) => {
    node.tag = rng.chance(0.2) ? node.tag ^ 0x20 : rng.pick(TAGS);
    return true;
  },
  remove: (_rng, at) => {
    const s = siblingsOf(at);
    return !!s && (s.splice(s.indexOf(at.node), 1), true);
  },
  duplicate: (_rng, at) => {
    const s = siblingsOf(at);
    return !!s && (s.splice(s.indexOf(at.node), 0, clone(at.node)), true);
  },
  swap: (rng, at) => {
    const s = siblingsOf(at);
    if (!s || s.length < 2) return false;
    const i = s.indexOf(at.node);
    const j = rng.int(s.length);
    [s[i], s[j]] = [s[j], s[i]];
    return true;
  },
  splice: (rng, at, donors) => {
    const s = siblingsOf(at);
    return !!s && ((s[s.indexOf(at.node)] = foreignNode(rng, donors)), true);
  },
  insertForeign: (rng, { node }, donors) => {
    if (!node.children) return false;
    node.children.splice(rng.int(node.children.length + 1), 0, foreignNode(rng, donors));
    return true;
  },
  nest: (rng, at) => {
    const s = siblingsOf(at);
    if (!s) return false;
    const wrapper: DerNode = { tag: rng.pick([0x30, 0x31, 0x04, 0xa0, 0xa3, 0x03]), children: [at.node] };
    if (wrapper.tag === 0x04) wrapper.encapsulated = "octet";
    if (wrapper.tag === 0x03) wrapper.encapsulated = "bit";
    s[s.indexOf(at.node)] = wrapper;
    return true;
  },
  unwrap: (_rng, at) => {
    const s = siblingsOf(at);
    if (!s || !at.node.children) return false;
    s.splice(s.indexOf(at.node), 1, ...at.node.children);
    return true;
  },
  setContent: (rng, { node }) => {
    node.children = undefined;
    node.encapsulated = undefined;
    node.content = rng.chance(0.8) ? Buffer.from(rng.pick(CONTENTS)) : rng.bytes(1 + rng.int(40));
    return true;
  },
  editContent: (rng, { node }) => {
    if (!node.content || node.content.length === 0) return false;
    const c = node.content;
    c[rng.int(c.length)] = rng.chance(0.5) ? rng.int(256) : c[rng.int(c.length)] ^ (1 << rng.int(8));
    return true;
  },
};

/** Applies `count` structure-aware mutations; returns their names. */
export function mutateTree(rng: Rng, root: DerNode, donors: readonly DerNode[], count: number): string[] {
  const names = Object.keys(TREE_OPS);
  const done: string[] = [];
  for (let tries = 0; done.length < count && tries < count * 8; tries++) {
    const name = rng.pick(names);
    const nodes = nodesOf(root);
    if (TREE_OPS[name](rng, rng.pick(nodes), donors)) done.push(name);
  }
  return done;
}

/** Blind byte-level mutations. */
const BYTE_OPS: Record<string, (rng: Rng, b: Buffer) => Buffer> = {
  bitFlip: (rng, b) => {
    const out = Buffer.from(b);
    for (let n = 1 + rng.int(3); n > 0 && out.length; n--) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return out;
  },
  setByte: (rng, b) => {
    const out = Buffer.from(b);
    if (out.length) out[rng.int(out.length)] = rng.pick(rng.chance(0.6) ? INTERESTING_BYTES : MORE_BYTES);
    return out;
  },
  insertBytes: (rng, b) => {
    const at = rng.int(b.length + 1);
    const ins = rng.chance(0.5) ? rng.bytes(1 + rng.int(4)) : Buffer.from([rng.pick(INTERESTING_BYTES)]);
    return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
  },
  deleteBytes: (rng, b) => {
    const at = rng.int(b.length);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(8))]);
  },
  truncate: (rng, b) => Buffer.from(b.subarray(0, rng.int(b.length))),
  duplicateChunk: (rng, b) => {
    const from = rng.int(b.length);
    const chunk = b.subarray(from, from + 1 + rng.int(16));
    const at = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), chunk, b.subarray(at)]);
  },
  appendJunk: (rng, b) =>
    Buffer.concat([b, rng.chance(0.5) ? Buffer.from([0, 0]) : rng.bytes(1 + rng.int(4))]),
};

/** Applies one or two byte mutations; returns the result and their names. */
export function mutateBytes(rng: Rng, b: Buffer): { bytes: Buffer; ops: string[] } {
  const names = Object.keys(BYTE_OPS);
  const ops: string[] = [];
  for (let n = 1 + (rng.chance(0.3) ? 1 : 0); n > 0; n--) {
    const name = rng.pick(names);
    b = BYTE_OPS[name](rng, b);
    ops.push(name);
  }
  return { bytes: b, ops };
}
