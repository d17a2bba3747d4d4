/**
 * The BMC logins `zeroroot drift` observes with, per server: the managed login the deployment's
 * state records (`--state DIR`, one `<stack>.json` per data-center stack: `pulumi stack export`, or
 * the lab runner's state), else the stack file's initial one. Secrets are opened with the stack's
 * passphrase (PULUMI_CONFIG_PASSPHRASE_FILE or PULUMI_CONFIG_PASSPHRASE, as the Pulumi CLI reads
 * it). Every missing or unusable input is an error naming the file and the fix (exit 1); a password
 * is never printed, logged or put on a command line.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { PassphraseCrypter } from "../../lab/pulumi-passphrase";
import type { DesiredServer } from "../../lib/drift/desired";
import {
  MAX_STATE_BYTES,
  StateCredentialError,
  bmcLoginsFromPulumiExport,
  isPulumiExport,
  type BmcLogin,
} from "../../lib/drift/state-credentials";
import { RESOURCE_TYPES } from "../../lib/contracts/resources";
import { KEYS, readStackFile } from "../../lib/fleet";
import type { UserError } from "../errors";

type Fail = (message: string) => UserError;

const PASSPHRASE_FIX =
  "set PULUMI_CONFIG_PASSPHRASE_FILE to a file holding the stack's passphrase (or PULUMI_CONFIG_PASSPHRASE), or give --no-bmc";

/** The stack passphrase from the environment; undefined when none is set. */
function passphrase(fail: Fail): string | undefined {
  const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) {
    if (!existsSync(file)) throw fail(`PULUMI_CONFIG_PASSPHRASE_FILE ${file}: no such file`);
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  }
  return process.env.PULUMI_CONFIG_PASSPHRASE;
}

/** The stack file's passphrase crypter, or undefined when it has no passphrase secrets. */
function crypterOf(file: string, shown: string, fail: Fail): PassphraseCrypter | undefined {
  const salt = readStackFile(file).encryptionSalt;
  if (!salt) return undefined;
  const p = passphrase(fail);
  if (p === undefined) throw fail(`${shown}: its BMC passwords are secrets: ${PASSPHRASE_FIX}`);
  try {
    return PassphraseCrypter.fromSalt(p, salt);
  } catch (e) {
    throw fail(`${shown}: ${(e as Error).message}; check PULUMI_CONFIG_PASSPHRASE(_FILE)`);
  }
}

/** The initial BMC password of each server, as the stack file holds it (decrypted). */
function stackPasswords(file: string, shown: string, fail: Fail): Map<string, string> {
  const crypter = crypterOf(file, shown, fail);
  const sf = readStackFile(file, { displayPath: shown, decrypt: crypter && ((c) => crypter.decrypt(c)) });
  const dc = sf.values[KEYS.dataCenter] as
    { servers?: { id?: unknown; bmc?: { password?: unknown } }[] } | undefined;
  const out = new Map<string, string>();
  for (const s of dc?.servers ?? [])
    if (typeof s.id === "string" && typeof s.bmc?.password === "string") out.set(s.id, s.bmc.password);
  return out;
}

/** The managed logins a stack's state records, from either state format. */
function stateLogins(file: string, stackFile: string, shown: string, fail: Fail): Map<string, BmcLogin> {
  if (!existsSync(file))
    throw fail(
      `--state: no ${file} for stack ${shown}; write it with \`pulumi stack export --stack <name> > ${file}\``,
    );
  const size = statSync(file).size;
  if (size > MAX_STATE_BYTES)
    throw fail(`--state ${file}: ${size} bytes; allowed: at most ${MAX_STATE_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(`--state ${file}: not JSON (${(e as Error).message.slice(0, 200)})`);
  }
  const lazyCrypter = () => crypterOf(stackFile, shown, fail);
  try {
    if (isPulumiExport(json)) {
      const c = lazyCrypter();
      return bmcLoginsFromPulumiExport(json, c && ((x) => c.decrypt(x)));
    }
    if ((json as { version?: unknown })?.version === 2) return labRunnerLogins(file, lazyCrypter());
  } catch (e) {
    if (e instanceof StateCredentialError) throw fail(`--state ${file}: ${e.message}`);
    throw e;
  }
  throw fail(
    `--state ${file}: neither a \`pulumi stack export\` document nor the lab runner's state (version 2)`,
  );
}

/** The lab runner's state (lab/orchestrate/deployment.ts), opened with the runner's own reader. */
function labRunnerLogins(file: string, crypter: PassphraseCrypter | undefined): Map<string, BmcLogin> {
  // Loaded only for a lab state: it brings the provider plugin's handlers with it.
  type Runner = typeof import("../../lab/orchestrate/deployment");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Deployment } = require("../../lab/orchestrate/deployment") as Runner;
  const unwrap = (v: unknown): unknown =>
    v && typeof v === "object" && "value" in v ? (v as { value: unknown }).value : v;
  const d = new Deployment({ statePath: file, crypter });
  const out = new Map<string, BmcLogin>();
  for (const urn of d.urns()) {
    if (d.recorded(urn)?.type !== RESOURCE_TYPES.BmcCredential) continue;
    const rec = d.loaded(urn);
    // The user and the password are outputs (the password an input in state from before the plugin made it).
    const props = { ...rec?.inputs, ...rec?.outs };
    const [server, username, password] = [props.serverId, props.username, props.password].map(unwrap);
    if (typeof server !== "string") continue;
    if (typeof username !== "string" || typeof password !== "string")
      throw new StateCredentialError(
        `the BmcCredential of ${server.slice(0, 63)} has no readable username and password (is the passphrase the stack's?)`,
      );
    out.set(server, { username, password });
  }
  return out;
}

/**
 * The login to observe each server's BMC with, by server id: the state's managed login when
 * `stateDir` is given and records one, else the stack file's initial user and password.
 */
export function bmcLogins(
  desired: readonly DesiredServer[],
  stackFiles: ReadonlyMap<string, string>,
  stateDir: string | undefined,
  fail: Fail,
  shownOf: (file: string) => string,
): Map<string, BmcLogin> {
  if (stateDir !== undefined && !existsSync(stateDir)) throw fail(`--state ${stateDir}: no such directory`);
  const out = new Map<string, BmcLogin>();
  for (const stack of new Set(desired.map((d) => d.stack))) {
    const file = stackFiles.get(stack);
    if (!file) continue;
    const shown = shownOf(file);
    const initial = stackPasswords(file, shown, fail);
    const managed = stateDir ? stateLogins(join(stateDir, `${stack}.json`), file, shown, fail) : new Map();
    for (const d of desired.filter((x) => x.stack === stack)) {
      const m = managed.get(d.server);
      const p = initial.get(d.server);
      if (m) out.set(d.server, m);
      else if (p !== undefined) out.set(d.server, { username: d.bmc.username, password: p });
    }
  }
  return out;
}
