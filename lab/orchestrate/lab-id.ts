/**
 * Which lab a command acts on. Several labs can exist on one machine at once — a user's lab and the
 * test tier's — and none ever touches another's files, namespaces or processes: the lab id alone
 * decides the state folder, the namespace prefix and the address plan. Pure except for reading the
 * environment variable, which is how the id reaches child processes (deploys, BMC hooks, servers).
 *
 *   id ""      (the user's lab)  .zeroroot/lab       namespaces zr-…       10.77.x / 10.78.x
 *   id "test"  (the test tier)   .zeroroot/lab-test  namespaces zrtest-…   10.(100+2k).x / 10.(101+2k).x
 */
import { join, resolve } from "node:path";

export const LAB_ID_ENV = "ZEROROOT_LAB_ID";
/** The id the lab test tier runs under (set by test/lab/converge/test-lab-id.ts). */
export const TEST_LAB_ID = "test";
const ID = /^[a-z0-9]{1,8}$/;
const REPO_ROOT = resolve(__dirname, "../..");

export class LabIdError extends Error {}

/** The id, checked: "" (the user's lab) or 1-8 of [a-z0-9]. */
export function checkLabId(id: string, where = "lab id"): string {
  if (id === "" || ID.test(id)) return id;
  throw new LabIdError(
    `${where} ${JSON.stringify(id).slice(0, 40)} is not allowed: give 1-8 of [a-z0-9] (e.g. "test"), or nothing for your own lab`,
  );
}

/** The lab this process acts on: $ZEROROOT_LAB_ID, or "" (the user's lab). */
export function currentLabId(env: NodeJS.ProcessEnv = process.env): string {
  return checkLabId(env[LAB_ID_ENV] ?? "", `$${LAB_ID_ENV}`);
}

/** State folder of a lab; $ZEROROOT_LAB_DIR overrides it for the user's lab only. */
export function labDirOf(id: string, env: NodeJS.ProcessEnv = process.env): string {
  if (id === "" && env.ZEROROOT_LAB_DIR) return resolve(env.ZEROROOT_LAB_DIR);
  return join(REPO_ROOT, ".zeroroot", id === "" ? "lab" : `lab-${checkLabId(id)}`);
}

/** Prefix of every namespace of a lab: "zr-" or "zr<id>-" (never a prefix of another lab's). */
export const labPrefixOf = (id: string): string => (id === "" ? "zr-" : `zr${checkLabId(id)}-`);

/**
 * Second octets of a lab's management and data networks. Namespaces already keep labs apart; a
 * distinct range keeps logs and captures of two labs from being confused.
 */
export function labOctetsOf(id: string): { readonly management: number; readonly data: number } {
  if (checkLabId(id) === "") return { management: 77, data: 78 };
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 50;
  return { management: 100 + 2 * h, data: 101 + 2 * h };
}
