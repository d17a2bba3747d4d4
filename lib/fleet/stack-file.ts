/**
 * Reads a `Pulumi.<stack>.yaml` file the way zeroroot needs it: values, which leaves are
 * `secure:` (Pulumi secrets), and the line each key is on, so errors can say "file:line".
 * Secure values stay encrypted unless the caller passes a decrypter (the lab harness does).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { ConfigIssue, ConfigValidationError } from "./issues";
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

export function readStackFile(file: string, opts: ReadStackFileOptions = {}): StackFile {
  const shown = opts.displayPath ?? file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigValidationError([
      fileIssue(shown, `the file could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`),
    ]);
  }
  return parseStackFile(text, shown, opts);
}

export function parseStackFile(text: string, file: string, opts: ReadStackFileOptions = {}): StackFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new ConfigValidationError([
      { ...fileIssue(file, `invalid YAML: ${e.message.split("\n")[0]}`), line },
    ]);
  }
  const root = doc.contents;
  const config = isMap(root) ? root.get("config", true) : undefined;
  if (root !== null && (!isMap(root) || (config !== undefined && !isMap(config)))) {
    throw new ConfigValidationError([fileIssue(file, "a YAML document without a `config:` mapping")]);
  }

  const values: Record<string, unknown> = {};
  const secrets = new Set<string>();
  const nodes = new Map<string, YamlNode>();
  if (isMap(config)) {
    for (const pair of config.items) {
      const rawKey = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
      values[key] = convert(pair.value as YamlNode, [key], secrets, nodes, opts.decrypt);
      if (pair.key && typeof pair.key === "object") nodes.set(pathKey([key]), pair.key as YamlNode);
    }
  }
  const saltNode = isMap(root) ? root.get("encryptionsalt") : undefined;
  return {
    file,
    stack: stackNameOf(file) ?? file,
    encryptionSalt: typeof saltNode === "string" ? saltNode : undefined,
    values,
    isSecret: (path) => secrets.has(pathKey(path)),
    locate: (path) => {
      for (let n = path.length; n > 0; n--) {
        const node = nodes.get(pathKey(path.slice(0, n)));
        if (node?.range) return { file, line: lines.linePos(node.range[0]).line };
      }
      return { file };
    },
  };
}

function convert(
  node: YamlNode | null,
  path: PathSegment[],
  secrets: Set<string>,
  nodes: Map<string, YamlNode>,
  decrypt?: (c: string) => string,
): unknown {
  if (node) nodes.set(pathKey(path), node);
  if (isMap(node)) {
    const secure =
      node.items.length === 1 && isScalar(node.items[0].key) && node.items[0].key.value === "secure"
        ? node.items[0].value
        : undefined;
    if (isScalar(secure) && typeof secure.value === "string") {
      secrets.add(pathKey(path));
      return decrypt ? decrypt(secure.value) : secure.value;
    }
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
      out[k] = convert(pair.value as YamlNode, [...path, k], secrets, nodes, decrypt);
    }
    return out;
  }
  if (isSeq(node))
    return node.items.map((item, i) => convert(item as YamlNode, [...path, i], secrets, nodes, decrypt));
  if (isScalar(node)) return node.value;
  return node === null ? undefined : (node as { toJSON(): unknown }).toJSON();
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
