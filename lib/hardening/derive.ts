/**
 * What follows from a resolved spec: its canonical JSON and hash (the image's name and build cache
 * key), the programs PID 1 starts, and the inputs of the HardenedImage resource the policy pack reads.
 */
import { createHash } from "node:crypto";
import type { HardenedImageInputs, ProgramSpec } from "../contracts/resources";
import { supervisorDir, type HardenedImageSpec } from "./spec";

/** Canonical JSON (sorted keys) so that equal specs hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The image's name: SHA-256 (hex) of the canonical spec. Independent of the data center: the
 * three data centers share one image, and one cache entry.
 */
export function specHash(spec: HardenedImageSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** Every program PID 1 starts (one supervisord per user) and what each supervisord runs. */
export function programsOf(spec: HardenedImageSpec): ProgramSpec[] {
  return spec.users.flatMap((u) => [
    {
      name: `supervisord-${u.name}`,
      command: `/usr/bin/supervisord --nodaemon --configuration ${supervisorDir(u)}/supervisord.conf`,
      user: u.name,
      uid: u.uid,
      capabilities: [],
      noNewPrivileges: true,
    },
    ...u.programs.map((p) => ({
      name: p.name,
      command: p.command,
      user: u.name,
      uid: u.uid,
      capabilities: [],
      noNewPrivileges: true,
    })),
  ]);
}

/** The HardenedImage resource's inputs for one data center. */
export function toHardenedImageInputs(spec: HardenedImageSpec, dataCenter: string): HardenedImageInputs {
  return {
    dataCenter,
    packages: spec.packages,
    rootLocked: spec.rootLocked,
    remoteRootLogin: spec.remoteRootLogin,
    firewall: {
      inputPolicy: spec.firewall.inputPolicy,
      allowedTcpPorts: spec.firewall.allowedTcpPorts,
      allowedUdpPorts: spec.firewall.allowedUdpPorts,
    },
    users: spec.users.map((u) => ({ name: u.name, uid: u.uid })),
    programs: programsOf(spec),
    specHash: specHash(spec),
  };
}
