/**
 * Differential fuzz of the agent's hand-written etcd decoder (lib/controlplane/etcd-wire.ts)
 * against protobufjs reading etcd's own rpc.proto (the files node_modules/etcd3 ships). Each case
 * is a random RangeResponse or WatchResponse encoded by protobufjs, then mostly mutated (bit flips,
 * insertions, deletions, truncation from mutate.ts; unknown fields, a field repeated). Case i of a
 * run seeded with s is a pure function of (s, i): rerun with the same seed to replay it.
 *
 * The rule: what the hand decoder accepts, protobufjs accepts with equal facts (keys, values,
 * revisions, flags, event types). The hand decoder may refuse more (a known field with the wrong
 * wire type, a group, an event type etcd does not define): protobufjs reads those without checks.
 * Every refusal is a WireError; anything else escaping is a crash.
 */
import { dirname, join } from "node:path";
import * as protobuf from "protobufjs";
import * as wire from "../../lib/controlplane/etcd-wire";
import { mutateBytes, Rng } from "./mutate";

const root = protobuf.loadSync(join(dirname(require.resolve("etcd3/package.json")), "proto", "rpc.proto"));
const TYPES = {
  range: root.lookupType("etcdserverpb.RangeResponse"),
  watch: root.lookupType("etcdserverpb.WatchResponse"),
};
type Kind = keyof typeof TYPES;

export interface WireStats {
  cases: number;
  bothAccepted: number;
  /** Refused by the hand decoder only (it is stricter by design), by reason. */
  strictOnly: Map<string, number>;
  bothRefused: number;
  disagreements: { index: number; kind: Kind; input: Buffer; why: string }[];
  crashes: Map<string, number>;
}

const INT64 = [
  "0",
  "1",
  "127",
  "128",
  "300",
  "2147483648",
  "9007199254740993",
  "9223372036854775807",
  "-1",
  "-9223372036854775808",
];

function randomText(rng: Rng): Buffer {
  const n = rng.pick([0, 1, 3, 12, 40, 200]);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.chance(0.8) ? 0x20 + rng.int(0x5f) : rng.int(256);
  return b;
}

function randomKv(rng: Rng) {
  return {
    key: randomText(rng),
    createRevision: rng.pick(INT64),
    modRevision: rng.pick(INT64),
    version: rng.pick(INT64),
    value: randomText(rng),
    lease: rng.pick(INT64),
  };
}

function randomMessage(rng: Rng, kind: Kind): Record<string, unknown> {
  const header = { clusterId: rng.pick(INT64), memberId: "7", revision: rng.pick(INT64), raftTerm: "3" };
  const many = <T>(f: () => T) => Array.from({ length: rng.pick([0, 1, 2, 5]) }, f);
  if (kind === "range")
    return { header, kvs: many(() => randomKv(rng)), more: rng.chance(0.3), count: rng.pick(INT64) };
  return {
    header,
    watchId: rng.pick(INT64),
    created: rng.chance(0.3),
    canceled: rng.chance(0.2),
    compactRevision: rng.pick(INT64),
    cancelReason: rng.chance(0.3) ? randomText(rng).toString("latin1") : "",
    fragment: rng.chance(0.1),
    events: many(() => ({
      type: rng.pick([0, 1]),
      kv: randomKv(rng),
      prevKv: rng.chance(0.2) ? randomKv(rng) : undefined,
    })),
  };
}

/** Appends a field protobuf must skip or merge: unknown (each wire type), or a known one repeated. */
function appendField(rng: Rng, b: Buffer): { bytes: Buffer; op: string } {
  const no = rng.pick([1, 2, 3, 5, 11, 19, 2047]);
  const type = rng.pick([0, 1, 2, 5]);
  const tag = Buffer.from(wire.encode([[no, "varint", 1]]).subarray(0, -1)); // the tag of a varint field
  tag[tag.length - 1] = (tag[tag.length - 1] & ~7) | type;
  const body =
    type === 0
      ? Buffer.from([0x96, 0x01])
      : type === 1
        ? Buffer.alloc(8, 1)
        : type === 5
          ? Buffer.alloc(4, 2)
          : Buffer.from([3, 0x0a, 1, 0x41]);
  return { bytes: Buffer.concat([b, tag, body]), op: `append field ${no} wire type ${type}` };
}

export function makeCase(seed: number, index: number): { kind: Kind; input: Buffer; ops: string[] } {
  const rng = Rng.forCase(seed, index);
  const kind: Kind = rng.chance(0.5) ? "range" : "watch";
  const type = TYPES[kind];
  let input: Buffer = Buffer.from(type.encode(type.fromObject(randomMessage(rng, kind))).finish());
  const ops: string[] = [];
  if (rng.chance(0.2)) {
    const a = appendField(rng, input);
    input = a.bytes;
    ops.push(a.op);
  }
  if (rng.chance(0.8)) {
    const m = mutateBytes(rng, input);
    input = m.bytes;
    ops.push(...m.ops);
  }
  return { kind, input, ops };
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("utf8");
const num = (v: unknown) => (v === undefined || v === null ? "0" : String(v));
type Decoded = ReturnType<protobuf.Type["toObject"]>;

/** What protobufjs read, in the hand decoder's shape. */
function theirs(kind: Kind, m: Decoded): unknown {
  const kv = (x: Decoded | undefined) => ({
    key: text(x?.key),
    value: text(x?.value),
    modRevision: num(x?.modRevision),
  });
  const revision = num(m.header?.revision);
  if (kind === "range") return { revision, kvs: (m.kvs ?? []).map(kv), more: !!m.more, count: num(m.count) };
  return {
    revision,
    watchId: num(m.watchId),
    created: !!m.created,
    canceled: !!m.canceled,
    compactRevision: num(m.compactRevision),
    cancelReason: m.cancelReason ?? "",
    events: (m.events ?? []).map((e: Decoded) => ({
      type: (e.type ?? 0) === 0 ? "put" : "delete",
      kv: kv(e.kv),
    })),
  };
}

export function runWireFuzz(seed: number, count: number): WireStats {
  const stats: WireStats = {
    cases: 0,
    bothAccepted: 0,
    strictOnly: new Map(),
    bothRefused: 0,
    disagreements: [],
    crashes: new Map(),
  };
  for (let index = 0; index < count; index++) {
    const { kind, input } = makeCase(seed, index);
    stats.cases++;
    let mine: unknown;
    let mineError: string | undefined;
    try {
      mine = kind === "range" ? wire.decodeRangeResponse(input) : wire.decodeWatchResponse(input);
    } catch (e) {
      if (!(e instanceof wire.WireError)) {
        const k = `${(e as Error).name}: ${(e as Error).message}`.slice(0, 120);
        stats.crashes.set(k, (stats.crashes.get(k) ?? 0) + 1);
        continue;
      }
      mineError = e.message.replace(/\d+/g, "N");
    }
    let their: unknown;
    try {
      their = theirs(kind, TYPES[kind].toObject(TYPES[kind].decode(input), { longs: String }));
    } catch {
      their = undefined;
    }
    if (mineError !== undefined) {
      if (their === undefined) stats.bothRefused++;
      else stats.strictOnly.set(mineError, (stats.strictOnly.get(mineError) ?? 0) + 1);
      continue;
    }
    const why =
      their === undefined
        ? "protobufjs refuses what the hand decoder accepts"
        : JSON.stringify(mine) !== JSON.stringify(their) && !fffdOnly(mine, their)
          ? `facts differ: hand ${JSON.stringify(mine).slice(0, 300)} protobufjs ${JSON.stringify(their).slice(0, 300)}`
          : undefined;
    if (why) stats.disagreements.push({ index, kind, input, why });
    else stats.bothAccepted++;
  }
  return stats;
}

/**
 * cancel_reason is a protobuf string: on invalid UTF-8 protobufjs and Node's decoder replace
 * different spans with U+FFFD. The reason is only shown to a human; everything else must be equal.
 */
function fffdOnly(mine: unknown, their: unknown): boolean {
  const reason = (mine as { cancelReason?: unknown }).cancelReason;
  if (typeof reason !== "string" || !reason.includes("\ufffd")) return false;
  return (
    JSON.stringify({ ...(mine as object), cancelReason: "" }) ===
    JSON.stringify({ ...(their as object), cancelReason: "" })
  );
}

export const describeWireDisagreement = (seed: number, d: WireStats["disagreements"][number]) =>
  `seed ${seed} case ${d.index} (${d.kind}): ${d.why}\n  input ${d.input.toString("hex").slice(0, 400)}`;

export function wireSummary(s: WireStats): string {
  const strict = [...s.strictOnly.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`);
  return (
    `etcd-wire fuzz: ${s.cases} cases, ${s.bothAccepted} accepted by both with equal facts, ${s.bothRefused} refused by both, ` +
    `${[...s.strictOnly.values()].reduce((a, b) => a + b, 0)} refused by the hand decoder only (${strict.slice(0, 6).join("; ")}), ` +
    `${s.disagreements.length} disagreements, ${[...s.crashes.values()].reduce((a, b) => a + b, 0)} crashes`
  );
}
