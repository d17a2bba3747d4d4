/**
 * Site services of one data center, run unprivileged on its management server:
 *   site init --config FILE          make the issuing CA key and CSR (prints the CSR path)
 *   site install-ca --config FILE --cert FILE   install the root-signed issuing certificate
 *   site serve --config FILE         provisioning, enrollment, the issuing CA and readiness reports
 *   site revoke --config FILE --serial HEX --reason R   revoke a certificate this site issued; the
 *                                    new CRL is in force at once (a running site re-reads it)
 * Exit codes: 0 ok, 1 refused/failed, 2 usage.
 */
import { readFileSync } from "node:fs";
import { files, initIssuingCa, installIssuingCertificate, loadSiteIdentity } from "./ca";
import { revokeSiteCertificate } from "./crl";
import { loadSiteConfig } from "./config";
import { ControlPlaneClient } from "../../lib/controlplane";
import { Registry } from "./registry";
import { createSiteServer } from "./server";
import { startTimestampService } from "./timestamp";

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} site: ${msg}\n`);
}

export async function siteMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const configPath = arg(rest, "--config");
  if (!command || !configPath) {
    process.stderr.write(
      "usage: site init|install-ca|serve|revoke --config FILE [--cert FILE] [--serial HEX --reason R]\n",
    );
    return 2;
  }
  const config = loadSiteConfig(configPath);
  if (process.getuid?.() === 0) {
    process.stderr.write(
      "site: refusing to run as root (zero root): start it as its own unprivileged user\n",
    );
    return 1;
  }
  switch (command) {
    case "init":
      initIssuingCa(config);
      process.stdout.write(`${files(config.stateDir).issuingCsr}\n`);
      return 0;
    case "install-ca": {
      const cert = arg(rest, "--cert");
      if (!cert) return usage("install-ca needs --cert FILE");
      installIssuingCertificate(config, readFileSync(cert, "utf8"));
      return 0;
    }
    case "revoke": {
      const serial = arg(rest, "--serial");
      if (!serial) return usage("revoke needs --serial HEX (as printed by openssl x509 -serial)");
      const crl = revokeSiteCertificate(
        config,
        loadSiteIdentity(config).ca,
        serial,
        arg(rest, "--reason") ?? "unspecified",
      );
      process.stdout.write(`${crl}\n`);
      return 0;
    }
    case "serve": {
      const identity = loadSiteIdentity(config);
      const registry = new Registry(config.stateDir);
      const server = createSiteServer(config, identity, registry, log);
      await new Promise<void>((resolve, reject) =>
        server.listen(config.port ?? 8443, config.listenHost ?? "0.0.0.0", resolve).on("error", reject),
      );
      log(
        `serving ${config.dataCenter} on ${config.listenHost ?? "0.0.0.0"}:${config.port ?? 8443} as uid ${process.getuid?.()}`,
      );
      const timestamp = startTimestampService(
        config,
        identity,
        registry,
        log,
        (endpoints, id) => new ControlPlaneClient({ endpoints, identity: id }),
      );
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", () => server.close(() => resolve()));
        process.once("SIGINT", () => server.close(() => resolve()));
      });
      await timestamp?.stop();
      return 0;
    }
    default:
      return usage(`unknown command ${command}`);
  }
}

function usage(msg: string): number {
  process.stderr.write(`site: ${msg}\n`);
  return 2;
}

if (require.main === module) {
  siteMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`site: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
