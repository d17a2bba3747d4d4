/**
 * `zeroroot pki`: the offline root ceremony and the operator's certificate tools. Thin argument
 * handling around lib/pki; every refusal of lib/pki becomes a UserError (exit 1) with its message.
 * Passphrases come from a file descriptor or a no-echo prompt, never from the command line, where
 * they would end up in shell history and `ps`.
 */
import * as fs from "node:fs";
import type { Command } from "commander";
import * as pki from "../../lib/pki";
import { UsageError, UserError } from "../errors";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const cmd = program
    .command("pki")
    .description("Certificate hierarchy: offline root ceremony, signing, revocation, verification, exports");
  registerCeremony(cmd);
  registerTools(cmd);
}

function registerCeremony(cmd: Command): void {
  cmd
    .command("init")
    .description("Offline root ceremony: root CA (key encrypted at rest) and one issuing CA per data center")
    .requiredOption("--dir <dir>", "empty ceremony directory")
    .requiredOption("--domain <domain>", "platform DNS domain, e.g. zeroroot.example")
    .requiredOption("--dcs <list>", "data centers, comma-separated, e.g. dc1,dc2,dc3")
    .option("--network <dc=cidr>", "IP network a data center's CA may certify (repeatable)", collect, [])
    .option("--key-type <kind>", `CA key type (${pki.KEY_KINDS.join(", ")})`, "ec-p256")
    .option("--passphrase-fd <n>", "read the passphrase from this file descriptor (else prompt)")
    .action(async (o) =>
      guard(async () => {
        const passphrase = await readPassphrase(o.passphraseFd, "ceremony passphrase", true);
        const state = pki.initCeremony({
          dir: o.dir,
          domain: o.domain,
          dcs: splitList(o.dcs),
          networks: parseNetworks(o.network),
          passphrase,
          keyKind: keyKind(o.keyType),
        });
        print(
          `root CA and issuing CAs for ${Object.keys(state.dcs).join(", ")} written to ${o.dir} (keys encrypted)`,
        );
      }),
    );
  cmd
    .command("sign")
    .description("Issue a certificate from a CSR with the root (kind issuing) or a data center's issuing CA")
    .requiredOption("--dir <dir>", "ceremony directory")
    .requiredOption("--kind <kind>", "user | computer | software | service | issuing")
    .requiredOption("--csr <file>", "PEM certificate signing request")
    .option("--dc <dc>", "data center whose CA signs (or the new data center, for kind issuing)")
    .option("--name <cn>", "subject common name (computer: the server id)")
    .option("--dns <name>", "DNS name to certify (repeatable)", collect, [])
    .option(
      "--ip <address>",
      "IP address to certify; for kind issuing an IP network in CIDR form (repeatable)",
      collect,
      [],
    )
    .option("--out <file>", "write the certificate here instead of stdout")
    .option("--passphrase-fd <n>", "read the passphrase from this file descriptor (else prompt)")
    .action(async (o) => guard(() => sign(o)));
  cmd
    .command("revoke")
    .description("Mark an issued certificate revoked in the ceremony register (then run `pki crl`)")
    .requiredOption("--dir <dir>", "ceremony directory")
    .requiredOption("--serial <hex>", "serial number, as `openssl x509 -serial` prints it")
    .requiredOption("--reason <reason>", pki.REVOCATION_REASONS.join(" | "))
    .action(async (o) =>
      guard(async () => {
        const rec = pki.revokeInCeremony(o.dir, o.serial, o.reason);
        print(
          `revoked ${rec.serial} (${rec.commonName}, signed by ${rec.signer}): ${o.reason}; publish a new CRL with \`zeroroot pki crl --dir ${o.dir}${rec.signer === "root" ? "" : ` --dc ${rec.signer}`}\``,
        );
      }),
    );
  cmd
    .command("crl")
    .description("Issue the next CRL of the root (default) or of a data center's issuing CA")
    .requiredOption("--dir <dir>", "ceremony directory")
    .option("--dc <dc>", "data center whose CRL to issue")
    .requiredOption("--out <file>", "CRL output (PEM)")
    .option("--passphrase-fd <n>", "read the passphrase from this file descriptor (else prompt)")
    .action(async (o) =>
      guard(async () => {
        const passphrase = await readPassphrase(o.passphraseFd, "ceremony passphrase");
        fs.writeFileSync(o.out, pki.crlFromCeremony(o.dir, o.dc ?? "root", passphrase));
      }),
    );
}

async function sign(o: Record<string, string & string[]>): Promise<void> {
  const kind = o.kind;
  if (!["user", "computer", "software", "service", "issuing"].includes(kind)) {
    throw new UsageError(`--kind "${kind}" is unknown; allowed: user, computer, software, service, issuing`);
  }
  if (!o.dc)
    throw new UsageError(
      "--dc is required: the data center whose issuing CA signs (or, for kind issuing, the new data center)",
    );
  const csr = readFile(o.csr, "--csr");
  const passphrase = await readPassphrase(o.passphraseFd, "ceremony passphrase");
  let auth: pki.Authorisation = {
    commonName: o.name,
    dnsNames: o.dns.length ? o.dns : undefined,
    ipAddresses: o.ip.length ? o.ip : undefined,
  };
  if (kind === "issuing") {
    const zone = `${o.dc}.${pki.loadState(o.dir).domain}`;
    auth = {
      commonName: o.name,
      nameScope: { dnsZones: [zone], ipNetworks: o.ip },
      organization: "zeroroot",
    };
  }
  const issued = pki.signWithCeremony(
    o.dir,
    kind === "issuing" ? "root" : o.dc,
    passphrase,
    kind as pki.ProfileName,
    csr,
    auth,
  );
  if (o.out) fs.writeFileSync(o.out, issued.certificatePem);
  else process.stdout.write(issued.certificatePem);
  process.stderr.write(
    `issued ${kind} certificate, serial ${issued.serial}, valid until ${issued.notAfter.toISOString()}\n`,
  );
}

function registerTools(cmd: Command): void {
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
        fs.writeFileSync(o.keyOut, pki.exportPkcs8(keys.privateKey), { mode: 0o600 });
        fs.writeFileSync(
          o.csrOut,
          pki.createCsr({ commonName: o.name, dnsNames: o.dns, ipAddresses: o.ip }, keys.privateKey),
        );
      }),
    );
  cmd
    .command("verify")
    .description("Verify a certificate against a root, as the agents do; exit 1 with the reason when refused")
    .requiredOption("--root <file>", "trusted root certificate")
    .option("--untrusted <file>", "intermediate certificates (the data center's issuing CA)")
    .option("--crl <file>", "CRL to check revocation against (repeatable)", collect, [])
    .option("--purpose <use>", "serverAuth | clientAuth | codeSigning", "clientAuth")
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
        const r = pki.verifyCertificate(chain, readFile(o.root, "--root"), {
          use: o.purpose,
          crls: crls.length ? crls : undefined,
        });
        if (!r.ok) throw new UserError(`${cert}: refused (${r.reason}): ${r.detail}`);
        print(`${cert}: OK (${r.leaf.commonName}, ${o.purpose})`);
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
    fs.writeFileSync(out, pki.exportPkcs8(key, { format: o.der ? "der" : "pem", passphrase }), {
      mode: 0o600,
    });
  } else if (o.format === "pkcs12") {
    const key = pki.loadPrivateKey(need("key"));
    const chainPem = [need("cert"), ...(o.chain ? [need("chain")] : [])];
    const password = await readPassphrase(o.passphraseFd as string | undefined, "keystore password", true);
    fs.writeFileSync(
      out,
      pki.createKeystore({ privateKey: key, chainPem, password, alias: o.alias as string | undefined }),
      { mode: 0o600 },
    );
  } else if (o.format === "truststore") {
    const password = await readPassphrase(o.passphraseFd as string | undefined, "truststore password", true);
    fs.writeFileSync(
      out,
      pki.createTruststore({
        certificatesPem: need("cert"),
        password,
        aliases: o.alias ? [o.alias as string] : undefined,
      }),
    );
  } else {
    throw new UsageError(`--format "${String(o.format)}" is unknown; allowed: pkcs8, pkcs12, truststore`);
  }
}

async function guard(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof pki.PkiError) throw new UserError(err.message);
    throw err;
  }
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function keyKind(v: string): pki.KeyKind {
  if (!(pki.KEY_KINDS as readonly string[]).includes(v))
    throw new UsageError(`--key-type "${v}" is unknown; allowed: ${pki.KEY_KINDS.join(", ")}`);
  return v as pki.KeyKind;
}

function parseNetworks(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--network "${item}" must be DC=CIDR, e.g. dc1=10.77.1.0/24`);
    (out[m[1]] ??= []).push(m[2]);
  }
  return out;
}

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(
      `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** Reads a passphrase from a file descriptor (first line) or, on a terminal, prompts without echo. */
async function readPassphrase(fd: string | undefined, what: string, confirm = false): Promise<string> {
  if (fd !== undefined) {
    if (!/^\d+$/.test(fd)) throw new UsageError(`--passphrase-fd "${fd}" must be a file descriptor number`);
    const text = fs.readFileSync(Number(fd), "utf8").split(/\r?\n/)[0];
    if (!text) throw new UserError(`no ${what} could be read from file descriptor ${fd}`);
    return text;
  }
  if (!process.stdin.isTTY)
    throw new UsageError(`no terminal to prompt for the ${what}: pass --passphrase-fd N`);
  const first = await promptHidden(`${what}: `);
  if (confirm && (await promptHidden(`repeat ${what}: `)) !== first)
    throw new UserError(`the two ${what}s differ`);
  return first;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let value = "";
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          process.stderr.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") process.exit(130);
        value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}
