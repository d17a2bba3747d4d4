/**
 * One BmcServer's inputs (dc1-s01, powered off, booting from disk) as a stack program registers
 * them, shared by the plugin's integration files (configuration, bmc-server, deployment). Its BMC is
 * a FakeBmcs port (fake-bmc.ts); each file passes its own port and password so that files never
 * share a fake BMC's state.
 */
import type { Props } from "../../../provider/host";
import { secret } from "../../../provider/values";

/** The fake BMC a fixture server is driven through. */
export interface FixtureBmc {
  readonly port: number;
  readonly password: string;
}

/**
 * The site and root as every BmcServer carried them before the provider's configuration held them
 * (and as a program without a configured provider still registers them). The PEM is a placeholder:
 * a server that stays off never reaches the site, so nothing verifies it.
 */
export const OWN_SITE_AND_ROOT: Props = {
  siteUrl: "https://site.dc1.zeroroot.example:8443",
  siteServerName: "site.dc1.zeroroot.example",
  rootCertificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
};

/** The server as the program registers it now: no site, no root (the provider holds them). */
export const leanBmcServer = (bmc: FixtureBmc, over: Props = {}): Props => ({
  serverId: "dc1-s01",
  dataCenter: "dc1",
  hostname: "dc1-s01.dc1.zeroroot.example",
  macs: ["52:54:00:01:01:11"],
  bmc: {
    address: "127.0.0.1",
    port: bmc.port,
    username: "admin",
    password: secret(bmc.password),
    cipherSuite: 3,
    ipmiVersion: "2.0",
  },
  bootDevice: "disk",
  power: "off",
  ...over,
});

/** The server with its own site and root (OWN_SITE_AND_ROOT); `over` replaces any of them. */
export const bmcServerWithSite = (bmc: FixtureBmc, over: Props = {}): Props =>
  leanBmcServer(bmc, { ...OWN_SITE_AND_ROOT, ...over });
