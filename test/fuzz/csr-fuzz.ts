/**
 * The differential fuzz loop: mutated CSRs from the seed corpus, each judged by both readers.
 * Case i of a run seeded with s is a pure function of (s, i, corpus.json): rerun with the same seed
 * to replay it; the printed hex is the input itself.
 */
import * as pki from "../../lib/pki";
import { clone, serialise, type DerNode } from "./der-tree";
import { judge, type Verdict } from "./csr-oracle";
import { signatureOf, type CorpusEntry } from "./corpus";
import { mutateBytes, mutateTree, Rng } from "./mutate";

/**
 * How often a corpus entry is drawn and how often its mutated CertificationRequestInfo is re-signed
 * (so that the readers get past the signature and must agree on every field). RSA signing costs
 * 6-10 ms here and P-384 verification 2 ms, against 0.2 ms for P-256: the costly kinds are drawn less.
 */
const COST: Record<pki.KeyKind, { weight: number; resign: number }> = {
  "ec-p256": { weight: 8, resign: 0.7 },
  "ec-p384": { weight: 1, resign: 0.2 },
  "rsa-3072": { weight: 1, resign: 0.05 },
  "rsa-4096": { weight: 1, resign: 0.02 },
};

export interface FuzzCase {
  readonly index: number;
  readonly entry: string;
  readonly ops: readonly string[];
  readonly resigned: boolean;
  readonly input: Buffer;
}

function pickEntry(rng: Rng, corpus: readonly CorpusEntry[], totalWeight: number): CorpusEntry {
  let r = rng.next() * totalWeight;
  for (const e of corpus) if ((r -= COST[e.keyKind].weight) < 0) return e;
  return corpus[corpus.length - 1];
}

/** Case `index` of the run seeded with `seed`; the first corpus.length cases are the corpus unchanged. */
export function makeCase(seed: number, index: number, corpus: readonly CorpusEntry[]): FuzzCase {
  if (index < corpus.length) {
    const e = corpus[index];
    return { index, entry: e.name, ops: [], resigned: false, input: e.der };
  }
  const rng = Rng.forCase(seed, index);
  const entry = pickEntry(
    rng,
    corpus,
    corpus.reduce((n, e) => n + COST[e.keyKind].weight, 0),
  );
  const tree = clone(entry.tree);
  const donors = corpus.map((e) => e.tree);
  // Mostly one structural mutation: each further one mostly makes a CSR that both readers refuse.
  const ops = rng.chance(0.85) ? mutateTree(rng, tree, donors, rng.pick([1, 1, 1, 1, 1, 1, 2, 2, 2, 3])) : [];
  const top = tree.children;
  if (top && top.length > 0 && rng.chance(COST[entry.keyKind].resign)) {
    let cri = serialise(top[0]);
    if (ops.length === 0 || rng.chance(0.2)) {
      const m = mutateBytes(rng, cri);
      cri = m.bytes;
      ops.push(...m.ops);
    }
    top[0] = { tag: 0x30, raw: cri };
    const sig: DerNode | undefined = top[2];
    if (sig?.tag === 0x03) {
      Object.assign(sig, { children: undefined, encapsulated: undefined });
      sig.content = Buffer.concat([Buffer.from([0]), signatureOf(cri, entry.key, entry.keyKind)]);
    }
    return { index, entry: entry.name, ops: [...ops, "resign"], resigned: true, input: serialise(tree) };
  }
  let input = serialise(tree);
  if (ops.length === 0 || rng.chance(0.25)) {
    const m = mutateBytes(rng, input);
    input = m.bytes;
    ops.push(...m.ops);
  }
  return { index, entry: entry.name, ops, resigned: false, input };
}

export interface FuzzStats {
  seed: number;
  cases: number;
  schemaAccepted: number;
  bothAccepted: number;
  bothRefused: number;
  deferredAccepted: number;
  deferredRefused: number;
  /** Refusals when both readers decided, counted by "fast code / schema code". */
  refusals: Map<string, number>;
  /** Errors other than PkiError ("unexpected ..."), by reader and code: production shows these as stack traces. */
  crashes: Map<string, number>;
  disagreements: { fuzzCase: FuzzCase; verdict: Verdict & { kind: "disagree" } }[];
  cpuMs: number;
  ms: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

export function runFuzz(seed: number, count: number, corpus: readonly CorpusEntry[]): FuzzStats {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const stats: FuzzStats = {
    seed,
    cases: 0,
    schemaAccepted: 0,
    bothAccepted: 0,
    bothRefused: 0,
    deferredAccepted: 0,
    deferredRefused: 0,
    refusals: new Map(),
    crashes: new Map(),
    disagreements: [],
    cpuMs: 0,
    ms: 0,
  };
  for (let i = 0; i < count; i++) {
    const fuzzCase = makeCase(seed, i, corpus);
    const verdict = judge(fuzzCase.input);
    stats.cases++;
    if (verdict.schema.accepted) stats.schemaAccepted++;
    else if (verdict.schema.refusal.startsWith("unexpected"))
      bump(stats.crashes, `schema: ${verdict.schema.refusal}`);
    if (verdict.kind === "disagree") {
      stats.disagreements.push({ fuzzCase, verdict });
    } else if (verdict.kind === "both-accept") stats.bothAccepted++;
    else if (verdict.kind === "deferred") {
      if (verdict.schema.accepted) stats.deferredAccepted++;
      else stats.deferredRefused++;
    } else {
      stats.bothRefused++;
      bump(
        stats.refusals,
        `${verdict.fastRefusal} / ${verdict.schema.accepted ? "-" : verdict.schema.refusal}`,
      );
      if (verdict.fastRefusal.startsWith("unexpected")) bump(stats.crashes, `fast: ${verdict.fastRefusal}`);
    }
  }
  const used = process.cpuUsage(cpu);
  stats.cpuMs = (used.user + used.system) / 1000;
  stats.ms = Date.now() - started;
  return stats;
}

export function summary(s: FuzzStats): string {
  const list = (m: Map<string, number>) => [...m].map(([k, n]) => `${k}: ${n}`).join(", ") || "none";
  const decided = s.bothAccepted + s.bothRefused + s.disagreements.length;
  return [
    `CSR differential fuzz, seed ${s.seed}: ${s.cases} CSRs in ${(s.ms / 1000).toFixed(1)} s (CPU ${(s.cpuMs / 1000).toFixed(1)} s)`,
    `  schema parser: accepted ${s.schemaAccepted}, refused ${s.cases - s.schemaAccepted}`,
    `  fast path decided ${decided}: both accepted with equal facts ${s.bothAccepted}, both refused ${s.bothRefused}, disagreements ${s.disagreements.length}`,
    `  fast path declined ${s.deferredAccepted + s.deferredRefused} (production uses the schema parser): schema accepted ${s.deferredAccepted}, refused ${s.deferredRefused}`,
    `  agreements: ${s.cases - s.disagreements.length} of ${s.cases}`,
    `  refusals when both decided (fast / schema): ${list(s.refusals)}`,
    `  crashes (errors that are not PkiError): ${list(s.crashes)}`,
  ].join("\n");
}
export function describeDisagreement(seed: number, d: FuzzStats["disagreements"][number]): string {
  const c = d.fuzzCase;
  return [
    `disagreement: ${d.verdict.detail}`,
    `  seed ${seed}, case ${c.index}, from "${c.entry}" by ${c.ops.join(", ") || "no mutation"}`,
    `  input (hex): ${c.input.toString("hex")}`,
  ].join("\n");
}
