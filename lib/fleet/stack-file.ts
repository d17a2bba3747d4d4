/**
 * Reads a `Pulumi.<stack>.yaml` file the way zeroroot needs it: values, which leaves are
 * `secure:` (Pulumi secrets), and the line each key is on, so errors can say "file:line".
 * Secure values stay encrypted unless the caller passes a decrypter (the lab harness does).
 */
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
  type Scalar,
} from "yaml";
import { escapeForMessage } from "../pki/identity";
import { ConfigIssue, ConfigValidationError, joinPath } from "./issues";
import type { PathSegment, RawStackConfig } from "./validate";

export const PROJECT = "zeroroot";

export interface StackFile extends RawStackConfig {
  readonly file: string;
  readonly stack: string;
  /** `encryptionsalt` of the passphrase secrets provider, when present. */
  readonly encryptionSalt?: string;
}

export interface ReadStackFileOptions {
  /** Turns a `secure:` ciphertext into its value; without it the ciphertext stands in. */
  decrypt?: (ciphertext: string) => string;
  /** The path shown in messages (defaults to the path given). */
  displayPath?: string;
}

/** `Pulumi.dc1.yaml` → `dc1`; undefined for other names. */
export function stackNameOf(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file))?.[1];
}

/**
 * Stack files larger than this are refused before they are read. A data center of 1,000 servers is
 * ~450 KB; yaml parses ~0.3 MB/s here, so the bound also bounds the parse to a few seconds.
 */
export const MAX_STACK_FILE_BYTES = 2 * 1024 * 1024;
/**
 * Flow collections (`[`, `{`) nested deeper than this are refused before parsing: yaml's parser
 * takes ~10 s over 1 MB of `[[[[`, its lexer 0.1 s to find the first 33 of them. zeroroot's deepest
 * setting nests 4 levels.
 */
export const MAX_FLOW_DEPTH = 32;
/** Aliases the YAML parser may expand (yaml's `maxAliasCount`): bounds "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;

export function readStackFile(file: string, opts: ReadStackFileOptions = {}): StackFile {
  const shown = opts.displayPath ?? file;
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_STACK_FILE_BYTES) throw new ConfigValidationError([tooLarge(shown, size)]);
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof ConfigValidationError) throw err;
    throw new ConfigValidationError([
      fileIssue(shown, `the file could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`),
    ]);
  }
  return parseStackFile(text, shown, opts);
}

export function parseStackFile(text: string, file: string, opts: ReadStackFileOptions = {}): StackFile {
  if (text.length > MAX_STACK_FILE_BYTES) throw new ConfigValidationError([tooLarge(file, text.length)]);
  if (flowTooDeep(text))
    throw new ConfigValidationError([
      {
        ...fileIssue(file, `flow collections ([ ] or { }) nested more than ${MAX_FLOW_DEPTH} deep`),
        allowed: `at most ${MAX_FLOW_DEPTH} levels of [ ] and { }`,
        fix: "write the value in block style, or flatten it; no zeroroot setting nests this deep",
      },
    ]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new ConfigValidationError([
      { ...fileIssue(file, `invalid YAML: ${escapeForMessage(e.message.split("\n")[0])}`), line },
    ]);
  }
  try {
    // Only to enforce the alias bound before our own conversion expands the same aliases.
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT, mapAsMap: true });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    throw new ConfigValidationError([
      {
        ...fileIssue(file, `YAML aliases that expand beyond ${MAX_ALIAS_COUNT} nodes (${err.message})`),
        allowed: "a stack file without anchors and aliases (`pulumi config` never writes them)",
        fix: "write the values out instead of referring to them with *alias",
      },
    ]);
  }
  const root = doc.contents;
  const config = isMap(root) ? root.get("config", true) : undefined;
  if (root !== null && (!isMap(root) || (config !== undefined && !isMap(config)))) {
    throw new ConfigValidationError([fileIssue(file, "a YAML document without a `config:` mapping")]);
  }

  const saltNode = isMap(root) ? root.get("encryptionsalt") : undefined;
  const encryptionSalt = typeof saltNode === "string" ? saltNode : undefined;
  const ctx: Conversion = {
    doc,
    secrets: new Set<string>(),
    nodes: new Map<string, YamlNode>(),
    problems: [],
    decrypt: opts.decrypt,
    passphrase: encryptionSalt !== undefined,
  };
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (isMap(config)) {
    for (const pair of config.items) {
      const rawKey = keyOf(pair.key, [], ctx);
      if (rawKey === undefined) continue;
      const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
      if (pair.key && typeof pair.key === "object") ctx.nodes.set(pathKey([key]), pair.key as YamlNode);
      values[key] = convert(pair.value as YamlNode, [key], ctx);
    }
  }
  const locate = (path: readonly PathSegment[]) => {
    for (let n = path.length; n > 0; n--) {
      const node = ctx.nodes.get(pathKey(path.slice(0, n)));
      if (node?.range) return { file, line: lines.linePos(node.range[0]).line };
    }
    return { file };
  };
  if (ctx.problems.length > 0)
    throw new ConfigValidationError(
      ctx.problems.map((p) => ({ path: joinPath(p.path), ...p.issue, ...locate(p.path) })),
    );
  return {
    file,
    stack: stackNameOf(file) ?? file,
    encryptionSalt,
    values,
    isSecret: (path) => ctx.secrets.has(pathKey(path)),
    locate,
  };
}

interface Conversion {
  readonly doc: Document;
  readonly secrets: Set<string>;
  readonly nodes: Map<string, YamlNode>;
  readonly problems: { path: PathSegment[]; issue: Omit<ConfigIssue, "path"> }[];
  readonly decrypt?: (c: string) => string;
  /** The file uses the passphrase secrets provider (it has an `encryptionsalt`). */
  readonly passphrase: boolean;
}

/** A map key as text; a key that is a map or list is a problem (YAML allows it, config does not). */
function keyOf(key: unknown, path: PathSegment[], ctx: Conversion): string | undefined {
  if (isScalar(key) && (typeof key.value === "string" || typeof key.value === "number"))
    return String(key.value);
  ctx.problems.push({
    path,
    issue: {
      received: "a key that is not a plain string (a map, a list, a boolean or null)",
      allowed: "keys that are plain strings",
      fix: "write the key as a plain word",
    },
  });
  return undefined;
}

function convert(node: YamlNode | null, path: PathSegment[], ctx: Conversion): unknown {
  // A key's own node was recorded first: errors point at the key's line, not its value's.
  if (node && !ctx.nodes.has(pathKey(path))) ctx.nodes.set(pathKey(path), node);
  if (isAlias(node)) return convert(node.resolve(ctx.doc) as YamlNode, path, ctx);
  if (isMap(node)) {
    const only = node.items.length === 1 && isScalar(node.items[0].key) ? node.items[0] : undefined;
    if (only && (only.key as Scalar).value === "secure") return secureValue(only.value, path, ctx);
    // Null prototype: no key of the file, `__proto__` included, can reach Object.prototype.
    const out = Object.create(null) as Record<string, unknown>;
    for (const pair of node.items) {
      const k = keyOf(pair.key, path, ctx);
      if (k === undefined) continue;
      if (isScalar(pair.key)) ctx.nodes.set(pathKey([...path, k]), pair.key);
      out[k] = convert(pair.value as YamlNode, [...path, k], ctx);
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item, i) => convert(item as YamlNode, [...path, i], ctx));
  if (isScalar(node)) return node.value;
  return undefined;
}

/**
 * A `secure:` value must be ciphertext: Pulumi's passphrase provider writes
 * `v1:<base64 12-byte nonce>:<base64 AES-256-GCM ciphertext and 16-byte tag>`; other providers
 * (Pulumi Cloud, cloud KMS) write one base64 blob. Plain text pasted under `secure:` would be
 * handed to the program as if it had been encrypted, so it is refused (the value is never shown).
 */
function secureValue(value: unknown, path: PathSegment[], ctx: Conversion): unknown {
  const text = isScalar(value) && typeof value.value === "string" ? value.value : undefined;
  const problem = text === undefined ? "not a string" : ciphertextProblem(text, ctx.passphrase);
  if (problem) {
    ctx.problems.push({
      path,
      issue: {
        received: `a secure: value that is ${problem} (value hidden)`,
        allowed: ctx.passphrase
          ? "ciphertext of this stack's passphrase provider: v1:<base64 nonce>:<base64 ciphertext>"
          : "ciphertext of this stack's secrets provider (base64)",
        fix: `run: pulumi config set --secret --path '${joinPath(path.slice(1))}' <value>  (it is then stored encrypted)`,
      },
    });
    return undefined;
  }
  ctx.secrets.add(pathKey(path));
  if (!ctx.decrypt) return text;
  try {
    return ctx.decrypt(text!);
  } catch {
    ctx.problems.push({
      path,
      issue: {
        received: "a secure: value that does not decrypt with this stack's key (value hidden)",
        allowed: "ciphertext made for this stack",
        fix: "set the value again with `pulumi config set --secret` for this stack",
      },
    });
    return undefined;
  }
}

/** Stops lexing as soon as the bound is passed, so the cost is that of the prefix. */
function flowTooDeep(text: string): boolean {
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === "[" || token === "{") {
      if (++depth > MAX_FLOW_DEPTH) return true;
    } else if (token === "]" || token === "}") depth--;
  }
  return false;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const decodedLength = (b64: string) => (b64.length / 4) * 3 - (b64.match(/=*$/)?.[0].length ?? 0);

/** Why `text` is not ciphertext, or undefined when it is shaped like one. */
export function ciphertextProblem(text: string, passphrase: boolean): string | undefined {
  if (passphrase || text.startsWith("v1:")) {
    const parts = text.split(":");
    if (parts.length !== 3 || parts[0] !== "v1") return "not in the form v1:<nonce>:<ciphertext>";
    const [, nonce, body] = parts;
    if (!BASE64.test(nonce) || decodedLength(nonce) !== 12)
      return "not ciphertext (its nonce is not 12 bytes of base64)";
    if (!BASE64.test(body) || decodedLength(body) < 16)
      return "not ciphertext (its body is not base64 of at least 16 bytes)";
    return undefined;
  }
  if (!BASE64.test(text) || decodedLength(text) < 16) return "not base64 ciphertext of at least 16 bytes";
  return undefined;
}

function tooLarge(file: string, size: number): ConfigIssue {
  return {
    ...fileIssue(file, `a file of ${size} bytes`),
    allowed: `a stack file of at most ${MAX_STACK_FILE_BYTES} bytes`,
    fix: "split the fleet into more stacks, or remove generated entries",
  };
}

const pathKey = (path: readonly PathSegment[]) => JSON.stringify(path);

function fileIssue(file: string, received: string): ConfigIssue {
  return {
    path: "(file)",
    file,
    received,
    allowed: "a Pulumi stack file: a YAML mapping with a `config:` mapping",
    fix: "correct the file; `pulumi config` writes it in this form",
  };
}
