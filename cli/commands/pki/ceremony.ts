/**
 * `zeroroot pki init | sign | revoke | crl`: the offline root ceremony and what the ceremony directory
 * signs, revokes and publishes.
 */
import type { Command } from "commander";
import * as pki from "../../../lib/pki";
import { UsageError } from "../../errors";
import {
  collect,
  guard,
  keyKind,
  parseNetworks,
  print,
  readFile,
  readPassphrase,
  splitList,
  writeOut,
} from "./input";

export function registerCeremony(cmd: Command): void {
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
    .option(
      "--kinds <list>",
      `kind issuing only: the leaf kinds the new CA may issue, comma-separated (${pki.LEAF_KINDS.join(", ")}); a site's online CA: computer,service`,
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
        writeOut(o.out, pki.crlFromCeremony(o.dir, o.dc ?? "root", passphrase), "--out", false);
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
      nameScope: { dnsZones: [zone], ipNetworks: o.ip, kinds: o.kinds ? leafKinds(o.kinds) : undefined },
      organization: "zeroroot",
    };
  } else if (o.kinds) {
    throw new UsageError(`--kinds applies to --kind issuing only (got --kind ${kind})`);
  }
  const issued = pki.signWithCeremony(
    o.dir,
    kind === "issuing" ? "root" : o.dc,
    passphrase,
    kind as pki.ProfileName,
    csr,
    auth,
  );
  if (o.out) writeOut(o.out, issued.certificatePem, "--out", false);
  else process.stdout.write(issued.certificatePem);
  process.stderr.write(
    `issued ${kind} certificate, serial ${issued.serial}, valid until ${issued.notAfter.toISOString()}\n`,
  );
}

/** `--kinds computer,service`: a non-empty list of distinct leaf kinds. */
function leafKinds(list: string): pki.LeafKind[] {
  const kinds = splitList(list);
  const bad = kinds.find((k) => !(pki.LEAF_KINDS as readonly string[]).includes(k));
  if (bad !== undefined || kinds.length === 0 || new Set(kinds).size !== kinds.length)
    throw new UsageError(
      `--kinds "${pki.escapeForMessage(list)}" is not allowed; allowed: a comma-separated list of distinct kinds among ${pki.LEAF_KINDS.join(", ")}, e.g. computer,service`,
    );
  return kinds as pki.LeafKind[];
}
