/**
 * `zeroroot client kit`: a user's certificate kit for the datastores and Dask clusters, in two steps. Step 1 (no
 * --cert) makes the key and CSR on this machine and prints what to send to whom; step 2 (--cert)
 * verifies the signed certificate and writes one directory per client. Thin wiring of
 * lib/client-kit; the keystore password comes from --passphrase-fd or a no-echo prompt only.
 */
import * as path from "node:path";
import type { Command } from "commander";
import * as kit from "../../lib/client-kit";
import { escapeForMessage } from "../../lib/pki";
import { findProjectRoot, stackConfigDirOf } from "../../lib/fleet";
import { EnvironmentError, UsageError, UserError } from "../errors";
import { guard, keyKind, print, readPassphrase } from "./pki/input";

interface KitOptions {
  user: string;
  dc: string;
  for?: string;
  out: string;
  keyType: string;
  cert?: string;
  chain?: string;
  root?: string;
  stacks?: string;
  passphraseFd?: string;
}

export function register(program: Command): void {
  const client = program
    .command("client")
    .description("What users need to reach the datastores and their Dask clusters with their certificate");
  client
    .command("kit")
    .description(
      "Step 1 (without --cert): make your key and CSR here and print what to send to the CA holder. Step 2 (--cert): verify the signed certificate and write a kit per client into --out/<client>/",
    )
    .requiredOption("--user <name>", "your user name (the certificate's name)")
    .requiredOption("--dc <dc>", "the data center whose issuing CA signs your certificate, e.g. dc1")
    .option("--for <clients>", `client(s), comma-separated: ${kit.KIT_TARGETS.join(", ")} (step 2)`)
    .requiredOption("--out <dir>", "kit directory (made private in step 1; the key stays there)")
    .option("--key-type <kind>", "key type (step 1)", "ec-p256")
    .option("--cert <file>", "step 2: your signed certificate (PEM)")
    .option("--chain <file>", "step 2: the issuing CA's certificate(s), e.g. <ceremony>/dc1/chain.pem")
    .option(
      "--root <file>",
      "step 2: the platform's root CA (default: the global stack's rootCa.certificate)",
    )
    .option(
      "--stacks <dir>",
      "step 2: stack files with the datastores, zeroroot:dataAccess and zeroroot:clusters (default: the project's)",
    )
    .option(
      "--passphrase-fd <n>",
      "step 2, jdbc: read the keystore password from this file descriptor (else prompt)",
    )
    .action(async (o: KitOptions) => guard(() => run(o)));
}

async function run(o: KitOptions): Promise<void> {
  try {
    const targets = parseTargets(o.for);
    if (o.cert === undefined) {
      for (const opt of ["chain", "root", "passphraseFd"] as const)
        if (o[opt] !== undefined) throw new UsageError(`--${kebab(opt)} belongs to step 2 (with --cert)`);
      const args = { user: o.user, dataCenter: o.dc, outDir: o.out, keyKind: keyKind(o.keyType) };
      process.stdout.write(kit.requestInstructions(args, kit.makeRequest(args), targets));
      return;
    }
    if (targets.length === 0)
      throw new UsageError(
        `step 2 needs --for: one or more of ${kit.KIT_TARGETS.join(", ")}, comma-separated`,
      );
    const root = findProjectRoot(process.cwd());
    const prepared = kit.prepareKit({
      user: o.user,
      dataCenter: o.dc,
      outDir: o.out,
      certFile: o.cert,
      chainFile: o.chain,
      rootFile: o.root,
      stackDir: o.stacks ?? (root ? stackConfigDirOf(root) : undefined),
      releasesDir: root ? path.join(root, "releases") : undefined,
    });
    for (const w of prepared.warnings) process.stderr.write(`zeroroot: warning: ${w}\n`);
    // Asked only once the certificate is known good, so a refusal never costs a typed password.
    const password = kit.needsKeystorePassword(targets)
      ? await readPassphrase(o.passphraseFd, "keystore password", true)
      : undefined;
    if (password !== undefined && password.length < 8)
      throw new UserError("the keystore password must have at least 8 characters");
    const dirs = kit.writeKits(prepared, targets, password);
    const id = `${o.dc}/user/${o.user}`;
    print(`certificate of ${id} verified (valid until ${prepared.accepted.notAfter.toISOString()})`);
    for (const d of dirs) print(`  kit written: ${d} (see connections.txt)`);
    const datastoreKits = targets.some((t) => t !== "dask");
    if (datastoreKits && prepared.groups.length === 0)
      print(`  no data set is granted to ${id} in zeroroot:dataAccess yet`);
    if (targets.includes("dask") && prepared.clusters.length === 0)
      print(`  no Dask cluster of ${id} in zeroroot:clusters yet`);
  } catch (err) {
    if (!(err instanceof kit.KitError)) throw err;
    if (err.kind === "usage") throw new UsageError(err.message);
    if (err.kind === "environment") throw new EnvironmentError(err.message);
    throw new UserError(err.message);
  }
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function parseTargets(list: string | undefined): kit.KitTarget[] {
  if (list === undefined) return [];
  const items = list.split(",").map((s) => s.trim());
  const bad = items.find((t) => !(kit.KIT_TARGETS as readonly string[]).includes(t));
  if (bad !== undefined || new Set(items).size !== items.length)
    throw new UsageError(
      `--for "${escapeForMessage(list.slice(0, 80))}" is not allowed; allowed: a comma-separated list of distinct clients among ${kit.KIT_TARGETS.join(", ")}`,
    );
  return items as kit.KitTarget[];
}
