/**
 * The BMC login the lab's own tooling (status, down, converge, tests) uses for a server: the managed
 * credential the data center's deployment recorded (BmcCredential's user and password, decrypted
 * with the lab's stack passphrase, as `pulumi stack output --show-secrets` would), or the initial
 * lab credential while no rotation has happened yet. After a rotation the initial one is disabled,
 * so nothing in the lab may log in with it. Not exported from index.ts: it reads the runner's state
 * (lab/orchestrate), which itself starts BMC simulators through this folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { RESOURCE_TYPES } from "../../lib/contracts/resources";
import { Deployment } from "../orchestrate/deployment";
import { BMC_USER, type LabLayout } from "../orchestrate/layout";
import { PassphraseCrypter } from "../pulumi-passphrase";

export interface LabBmcLogin {
  readonly username: string;
  readonly password: string;
  /** Which credential this is. */
  readonly source: "managed" | "initial";
}

const unwrap = (v: unknown): unknown =>
  v && typeof v === "object" && "value" in v ? (v as { value: unknown }).value : v;

/** The user and password to log in to `serverId`'s BMC with (see labBmcCredential). */
export function labBmcLogin(lab: LabLayout, serverId: string): { username: string; password: string } {
  const { username, password } = labBmcCredential(lab, serverId);
  return { username, password };
}

/** The managed login recorded for `serverId`, else the lab's initial one. */
export function labBmcCredential(lab: LabLayout, serverId: string): LabBmcLogin {
  const initial: LabBmcLogin = {
    username: BMC_USER,
    password: lab.secrets.bmcPasswords[serverId],
    source: "initial",
  };
  const dc = lab.plan.dataCenters.find((d) => d.servers.some((s) => s.id === serverId));
  if (!dc) return initial;
  const statePath = join(lab.paths.state, `${dc.id}.json`);
  const stackFile = join(lab.paths.stacks, `Pulumi.${dc.id}.yaml`);
  if (!existsSync(statePath) || !existsSync(stackFile)) return initial;
  const salt = (parse(readFileSync(stackFile, "utf8")) as { encryptionsalt?: unknown } | null)
    ?.encryptionsalt;
  if (typeof salt !== "string") return initial;
  const deployment = new Deployment({
    statePath,
    crypter: PassphraseCrypter.fromSalt(lab.secrets.stackPassphrase, salt),
  });
  for (const urn of deployment.urns()) {
    if (deployment.recorded(urn)?.type !== RESOURCE_TYPES.BmcCredential) continue;
    // The user and the password are outputs (the password an input in state from before the plugin made it).
    const rec = deployment.loaded(urn);
    const props = { ...rec?.inputs, ...rec?.outs };
    const password = unwrap(props.password);
    if (props.serverId !== serverId) continue;
    if (typeof props.username === "string" && typeof password === "string")
      return { username: props.username, password, source: "managed" };
  }
  return initial;
}
