/**
 * `pulumi import` of a BmcServer: the engine's Read carries the id and nothing else, so the id
 * names the BMC — `<serverId>@<bmc address>[:<port>]`, e.g. `dc1-s01@10.77.1.11:623` — and the BMC
 * login comes from the plugin's environment, never from a command line or the id:
 * ZEROROOT_IMPORT_BMC_USERNAME, ZEROROOT_IMPORT_BMC_PASSWORD and optionally
 * ZEROROOT_IMPORT_BMC_CIPHER_SUITE (default 3). Read then reports what the BMC says (power, boot
 * device); the rest of the inputs (site, hostname, MACs) come from the program at the next `up`,
 * which converges in place (an enrolled server is not reinstalled: lib/provision).
 */
import { ALLOWED_CIPHER_SUITES, type CipherSuite } from "../../lib/ipmi";
import { shown } from "../checks";
import type { Props } from "../types";

const IMPORT_ID = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})@([A-Za-z0-9][A-Za-z0-9.:-]{0,252}?)(?::(\d{1,5}))?$/;
const ENV = {
  username: "ZEROROOT_IMPORT_BMC_USERNAME",
  password: "ZEROROOT_IMPORT_BMC_PASSWORD",
  cipherSuite: "ZEROROOT_IMPORT_BMC_CIPHER_SUITE",
} as const;

/** The props an imported BmcServer is read with: server id and BMC from the id, login from the environment. */
export function importedBmcProps(id: string, env: NodeJS.ProcessEnv = process.env): Props {
  const m = IMPORT_ID.exec(id);
  if (!m)
    throw new Error(
      `BmcServer import id is ${shown(id)}; give <serverId>@<bmc address>[:<port>], e.g. dc1-s01@10.77.1.11:623`,
    );
  const [, serverId, address, port] = m;
  const username = env[ENV.username];
  const password = env[ENV.password];
  if (!username || !password)
    throw new Error(
      `BmcServer ${serverId} cannot be imported without a BMC login: set ${ENV.username} and ${ENV.password} in the environment pulumi runs in (never on a command line)`,
    );
  const suite = Number(env[ENV.cipherSuite] ?? 3);
  if (!ALLOWED_CIPHER_SUITES.includes(suite as CipherSuite))
    throw new Error(
      `${ENV.cipherSuite} is ${shown(env[ENV.cipherSuite])}; allowed: ${ALLOWED_CIPHER_SUITES.join(", ")}`,
    );
  const portNumber = Number(port ?? 623);
  if (portNumber < 1 || portNumber > 65535)
    throw new Error(`BmcServer import id ${shown(id)}: port ${portNumber} is outside 1..65535`);
  return {
    serverId,
    bmc: { address, port: portNumber, username, password, cipherSuite: suite, ipmiVersion: "2.0" },
  };
}
