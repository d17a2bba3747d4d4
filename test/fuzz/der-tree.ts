/**
 * A TLV tree of a DER document, for structure-aware mutation: a mutated node is re-serialised with
 * its ancestors' lengths recomputed, so that one lie (a non-minimal length, a wrong tag, a spliced
 * element) reaches the parsers intact instead of being hidden behind an overrun of the outer SEQUENCE.
 */

/** How a node writes its length: DER (default), long form with `bytes` length bytes, off by `delta`, or BER's indefinite form. */
export type LengthMode =
  | { readonly kind: "long"; readonly bytes: number }
  | { readonly kind: "delta"; readonly delta: number }
  | { readonly kind: "indefinite" };

export interface DerNode {
  tag: number;
  /** Children of a constructed node, or of an OCTET/BIT STRING whose value is itself DER (encapsulated). */
  children?: DerNode[];
  /** "bit": the children follow a 0x00 unused-bits byte (BIT STRING holding DER). */
  encapsulated?: "octet" | "bit";
  /** The value of a primitive node. */
  content?: Buffer;
  length?: LengthMode;
  /** Bytes that stand for the whole node as they are (a re-signed, byte-mutated CertificationRequestInfo). */
  raw?: Buffer;
}

/** Single-byte-tag, definite-length TLVs exactly filling [from, to); undefined otherwise. */
function parseList(buf: Buffer, from: number, to: number): DerNode[] | undefined {
  const out: DerNode[] = [];
  let pos = from;
  while (pos < to) {
    if (pos + 2 > to) return undefined;
    const tag = buf[pos];
    if ((tag & 0x1f) === 0x1f) return undefined;
    let len = buf[pos + 1];
    let value = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || value + n > to) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[value + i];
      value += n;
    }
    const end = value + len;
    if (end > to) return undefined;
    out.push(parseNode(buf, tag, value, end));
    pos = end;
  }
  return out;
}

function parseNode(buf: Buffer, tag: number, value: number, end: number): DerNode {
  if (tag & 0x20) {
    const children = parseList(buf, value, end);
    if (children) return { tag, children };
  } else if (tag === 0x04 && end > value) {
    const children = parseList(buf, value, end);
    if (children) return { tag, children, encapsulated: "octet" };
  } else if (tag === 0x03 && end - value > 1 && buf[value] === 0) {
    const children = parseList(buf, value + 1, end);
    if (children) return { tag, children, encapsulated: "bit" };
  }
  return { tag, content: Buffer.from(buf.subarray(value, end)) };
}

/** The tree of one DER element filling `der`; throws when `der` is not one. */
export function parseTree(der: Buffer): DerNode {
  const list = parseList(der, 0, der.length);
  if (!list || list.length !== 1) throw new Error("the corpus entry is not one DER element");
  return list[0];
}

function lengthBytes(n: number, mode: LengthMode | undefined): Buffer {
  if (mode?.kind === "indefinite") return Buffer.from([0x80]);
  if (mode?.kind === "delta") n = Math.max(0, n + mode.delta);
  const minimal = n < 0x80 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
  const bytes = mode?.kind === "long" ? Math.max(mode.bytes, minimal, 1) : minimal;
  if (bytes === 0) return Buffer.from([n]);
  const out = Buffer.alloc(1 + bytes);
  out[0] = 0x80 | bytes;
  for (let i = 0; i < bytes; i++) out[bytes - i] = Math.floor(n / 256 ** i) % 256;
  return out;
}

/** The value bytes of a node, children serialised. */
export function valueOf(node: DerNode): Buffer {
  if (!node.children) return node.content ?? Buffer.alloc(0);
  const parts = node.children.map(serialise);
  if (node.encapsulated === "bit") parts.unshift(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function serialise(node: DerNode): Buffer {
  if (node.raw) return node.raw;
  const value = valueOf(node);
  const eoc = node.length?.kind === "indefinite" ? Buffer.from([0, 0]) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from([node.tag]), lengthBytes(value.length, node.length), value, eoc]);
}

export function clone(node: DerNode): DerNode {
  return {
    ...node,
    children: node.children?.map(clone),
    content: node.content && Buffer.from(node.content),
  };
}

/** Every node of the tree with its parent (undefined for the root), in document order. */
export function nodesOf(root: DerNode): { node: DerNode; parent: DerNode | undefined }[] {
  const out: { node: DerNode; parent: DerNode | undefined }[] = [];
  const walk = (node: DerNode, parent: DerNode | undefined) => {
    out.push({ node, parent });
    for (const c of node.children ?? []) walk(c, node);
  };
  walk(root, undefined);
  return out;
}
