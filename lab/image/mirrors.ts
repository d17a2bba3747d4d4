/**
 * The Debian mirrors the image is built from: the host's own apt sources for the image's suite
 * (`<suite>`, `<suite>-updates`, `<suite>-security`), so the lab uses whatever mirror or snapshot
 * the host is set up with. Other repositories of the host (vendor repos) are never used.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface MirrorEntry {
  readonly uri: string;
  readonly suite: string;
  readonly components: readonly string[];
  readonly signedBy?: string;
}

function fromDeb822(text: string): MirrorEntry[] {
  const out: MirrorEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "mi").exec(stanza)?.[1]?.trim();
    if (!(field("Types") ?? "").split(/\s+/).includes("deb")) continue;
    if ((field("Enabled") ?? "yes").toLowerCase() === "no") continue;
    const comps = (field("Components") ?? "").split(/\s+/).filter(Boolean);
    for (const uri of (field("URIs") ?? "").split(/\s+/).filter(Boolean)) {
      for (const suite of (field("Suites") ?? "").split(/\s+/).filter(Boolean)) {
        out.push({ uri, suite, components: comps, signedBy: field("Signed-By") });
      }
    }
  }
  return out;
}

function fromOneLine(text: string): MirrorEntry[] {
  const out: MirrorEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /signed-by=(\S+)/.exec(m[1] ?? "")?.[1];
    out.push({ uri: m[2], suite: m[3], components: m[4].split(/\s+/).filter(Boolean), signedBy });
  }
  return out;
}

/** apt source entries of the host for `suite`, its updates and its security suite. */
export function hostMirrors(
  suite: string,
  sourcesDir = "/etc/apt/sources.list.d",
  sourcesList = "/etc/apt/sources.list",
): MirrorEntry[] {
  const texts: { name: string; text: string }[] = [];
  if (existsSync(sourcesList)) texts.push({ name: sourcesList, text: readFileSync(sourcesList, "utf8") });
  if (existsSync(sourcesDir)) {
    for (const f of readdirSync(sourcesDir).sort()) {
      if (f.endsWith(".sources") || f.endsWith(".list"))
        texts.push({ name: f, text: readFileSync(join(sourcesDir, f), "utf8") });
    }
  }
  const wanted = new Set([suite, `${suite}-updates`, `${suite}-security`]);
  const entries = texts.flatMap((t) =>
    t.name.endsWith(".sources") ? fromDeb822(t.text) : fromOneLine(t.text),
  );
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = `${e.uri} ${e.suite}`;
    if (!wanted.has(e.suite) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One-line apt source, the form mmdebstrap takes as a mirror argument. */
export const mirrorLine = (e: MirrorEntry) =>
  `deb ${e.signedBy ? `[signed-by=${e.signedBy}] ` : ""}${e.uri} ${e.suite} ${e.components.length > 0 ? e.components.join(" ") : "main"}`;
