/**
 * The hardened image spec of each lab server role (lib/hardening roles.ts), and the Debian package
 * versions its cached build carries: the lab's datastore releases pin the versions the storage image
 * really has, since a node refuses a release whose packages differ from dpkg's.
 */
import { resolveHardenedImageSpec, type HardenedImageSpec, type ServerRole } from "../../lib/hardening";
import { agentCommandLine } from "../../agents/node/bundle";
import { cachedImage } from "../image";
import { LAB_PARTITIONS } from "./layout";

/** The roles lab servers have (stacks.ts gives each server one). */
export const LAB_ROLES = ["storage", "compute"] as const satisfies readonly ServerRole[];
export type LabRole = (typeof LAB_ROLES)[number];

export const AGENT_DIR_IN_IMAGE = "/opt/zeroroot/agent";
// Node flags and malloc setting that keep the agent's memory down, as measured by bench/agent.ts (docs/agent.md).
export const AGENT_COMMAND = agentCommandLine(`${AGENT_DIR_IN_IMAGE}/agent.js`);

export const labImageSpec = (role: LabRole): HardenedImageSpec =>
  resolveHardenedImageSpec({ role, agentCommand: AGENT_COMMAND, partitions: LAB_PARTITIONS });

/** The version of `pkg` in the cached image of `role`; throws with the fix when it is not built. */
export function labPackageVersion(role: LabRole, pkg: string): string {
  const image = cachedImage(labImageSpec(role));
  if (!image) throw new Error(`the ${role} image is not built: run \`zeroroot lab up\` (it builds it)`);
  const version = image.manifest.packages[pkg];
  if (!version) throw new Error(`the ${role} image has no package ${pkg} (lib/hardening/roles.ts)`);
  return version;
}
