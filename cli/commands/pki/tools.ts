/**
 * `zeroroot pki csr | verify | export`: the operator's certificate tools, no ceremony directory needed.
 */
import type { Command } from "commander";
import * as pki from "../../../lib/pki";
import { UsageError, UserError } from "../../errors";
import { collect, guard, keyKind, print, readFile, readPassphrase, writeOut } from "./input";

export function registerTools(cmd: Command): void {
  cmd
    .command("csr")
    .description("Make a key pair and a CSR here (the key never leaves this machine)")
    .requiredOption("--name <cn>", "subject common name")
    .option("--dns <name>", "DNS name to request (repeatable)", collect, [])
    .option("--ip <address>", "IP address to request (repeatable)", collect, [])
    .option("--key-type <kind>", `key type (${pki.KEY_KINDS.join(", ")})`, "ec-p256")
    .requiredOption("--key-out <file>", "private key output (PKCS#8 PEM, mode 0600)")
    .requiredOption("--csr-out <file>", "CSR output (PEM)")
    .action(async (o) =>
      guard(async () => {
        const keys = pki.generateKeyPair(keyKind(o.keyType));
        const csr = pki.createCsr(
          { commonName: o.name, dnsNames: o.dns, ipAddresses: o.ip },
          keys.privateKey,
        );
        writeOut(o.keyOut, pki.exportPkcs8(keys.privateKey), "--key-out", true);
        writeOut(o.csrOut, csr, "--csr-out", false);
      }),
    );
  cmd
    .command("verify")
    .description("Verify a certificate against a root, as the agents do; exit 1 with the reason when refused")
    .requiredOption("--root <file>", "trusted root certificate")
    .option("--untrusted <file>", "intermediate certificates (the data center's issuing CA)")
    .option("--crl <file>", "CRL to check revocation against (repeatable)", collect, [])
    .option("--purpose <use>", "serverAuth | clientAuth | codeSigning", "clientAuth")
    .option("--allow-stale-crl", "accept a CRL past its nextUpdate (with a warning) instead of refusing")
    .argument("<cert>", "certificate to verify")
    .action(async (cert: string, o) =>
      guard(async () => {
        if (!["serverAuth", "clientAuth", "codeSigning"].includes(o.purpose))
          throw new UsageError(
            `--purpose "${o.purpose}" is unknown; allowed: serverAuth, clientAuth, codeSigning`,
          );
        const chain = [
          readFile(cert, "certificate"),
          ...(o.untrusted ? [readFile(o.untrusted, "--untrusted")] : []),
        ];
        const crls = (o.crl as string[]).map((f) => readFile(f, "--crl"));
        const r = pki.verifyIdentity(chain, readFile(o.root, "--root"), {
          use: o.purpose,
          crls: crls.length ? crls : undefined,
          strictCrl: !o.allowStaleCrl,
        });
        if (!r.ok) throw new UserError(`${cert}: refused (${r.reason}): ${r.detail}`);
        for (const s of r.staleCrls)
          process.stderr.write(
            `zeroroot: warning: the CRL of "${pki.escapeForMessage(s.issuer)}" (number ${s.number ?? "none"}) is stale since ${s.nextUpdate.toISOString()}\n`,
          );
        print(`${cert}: OK (${pki.formatIdentity(r.identity)}, ${o.purpose})`);
      }),
    );
  cmd
    .command("export")
    .description("Export for Java and PostgreSQL clients: PKCS#8 key, PKCS#12 keystore, PKCS#12 truststore")
    .requiredOption("--format <format>", "pkcs8 | pkcs12 | truststore")
    .option("--key <file>", "private key (pkcs8, pkcs12)")
    .option("--cert <file>", "certificate (pkcs12: the key's; truststore: the CA certificates)")
    .option("--chain <file>", "issuer certificates to include (pkcs12)")
    .option("--alias <alias>", "entry alias (pkcs12, truststore)")
    .option("--der", "pkcs8: DER instead of PEM")
    .option("--encrypt", "pkcs8: encrypt the key with a passphrase")
    .option("--passphrase-fd <n>", "read the output passphrase from this file descriptor (else prompt)")
    .requiredOption("--out <file>", "output file")
    .action(async (o) => guard(() => exportCmd(o)));
}

async function exportCmd(o: Record<string, string | boolean | undefined>): Promise<void> {
  const need = (k: string) => {
    if (typeof o[k] !== "string") throw new UsageError(`--format ${String(o.format)} needs --${k}`);
    return readFile(o[k] as string, `--${k}`);
  };
  const out = o.out as string;
  if (o.format === "pkcs8") {
    const key = pki.loadPrivateKey(need("key"));
    const passphrase = o.encrypt
      ? await readPassphrase(o.passphraseFd as string | undefined, "key passphrase", true)
      : undefined;
    writeOut(out, pki.exportPkcs8(key, { format: o.der ? "der" : "pem", passphrase }), "--out", true);
  } else if (o.format === "pkcs12") {
    const key = pki.loadPrivateKey(need("key"));
    const chainPem = [need("cert"), ...(o.chain ? [need("chain")] : [])];
    const password = await readPassphrase(o.passphraseFd as string | undefined, "keystore password", true);
    const store = pki.createKeystore({
      privateKey: key,
      chainPem,
      password,
      alias: o.alias as string | undefined,
    });
    writeOut(out, store, "--out", true);
  } else if (o.format === "truststore") {
    const password = await readPassphrase(o.passphraseFd as string | undefined, "truststore password", true);
    const store = pki.createTruststore({
      certificatesPem: need("cert"),
      password,
      aliases: o.alias ? [o.alias as string] : undefined,
    });
    writeOut(out, store, "--out", false);
  } else {
    throw new UsageError(`--format "${String(o.format)}" is unknown; allowed: pkcs8, pkcs12, truststore`);
  }
}
