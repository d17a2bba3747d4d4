/**
 * Reads observations saved as JSON (`zeroroot drift --observed FILE`: a replay of a sweep, or the
 * output of another collector) as untrusted input: the shape of lib/drift/observed.ts with every
 * string and list bounded, anything else refused with the path of the first bad value.
 */
import { z } from "zod";
import type { ObservedServer } from "./observed";

export const MAX_OBSERVED_BYTES = 256 * 1024 * 1024;
const MAX_SERVERS = 100_000;

const text = (max = 4_096) => z.string().max(max);
const list = <T extends z.ZodTypeAny>(t: T, max: number) => z.array(t).max(max);
const port = z.number().int().min(0).max(65_535);
const error = z.object({ error: text() }).strict();

const host = z.object({
  hostId: text(256),
  packages: list(text(256), 50_000).optional(),
  units: list(text(256), 10_000).optional(),
  processes: list(
    z.object({
      pid: z.number().int().min(0),
      name: text(256),
      command: text().optional(),
      user: text(256).optional(),
      uid: z.number().int().min(0),
      capabilities: list(text(64), 64),
      noNewPrivileges: z.boolean(),
    }),
    50_000,
  ).optional(),
  accounts: list(z.object({ user: text(256), uid: z.number().int().min(0) }), 10_000).optional(),
  listening: list(
    z.object({
      port,
      protocol: text(16),
      tls: z.boolean().optional(),
      requireClientCertificate: z.boolean().optional(),
    }),
    10_000,
  ).optional(),
  firewall: z
    .object({
      inputPolicy: text(32),
      allowedTcpPorts: list(port, 65_536),
      allowedUdpPorts: list(port, 65_536),
    })
    .optional(),
  remoteRootLogin: z.boolean().optional(),
});

const report = z.object({
  at: text(64),
  ageSeconds: z.number().min(0),
  desired: z.object({ version: z.number().int().min(0), digest: text(128) }).optional(),
  instances: list(
    z.object({
      name: text(256),
      release: z.object({ name: text(256), version: text(128) }),
      phase: text(32),
      programs: list(z.object({ name: text(256), state: text(32), pid: z.number().int() }), 1_000),
    }),
    5_000,
  ),
  host,
  certificates: list(z.object({ name: text(256), subject: text(), notAfter: text(64) }), 5_000),
  nftablesSha256: text(128).optional(),
  alerts: list(z.object({ kind: text(128), severity: text(32), at: text(64), detail: text() }), 1_000),
});

const probes = z.object({
  address: text(256),
  openTcpPorts: list(port, 65_536),
  ssh: list(z.object({ port, outcome: z.enum(["closed", "refused", "accepted"]), detail: text() }), 1_000),
  tls: list(
    z.object({
      port,
      subject: text().optional(),
      notAfter: text(64).optional(),
      demandsClientCertificate: z.boolean(),
      upgrade: z.enum(["postgresql", "mysql"]).optional(),
      listening: z.literal(false).optional(),
      closesOnProber: z.literal(true).optional(),
      error: text().optional(),
    }),
    1_000,
  ),
});

const server = z.object({
  dataCenter: text(64),
  server: text(256),
  observedAt: text(64),
  bmc: z.union([error, z.object({ power: z.enum(["on", "off"]), bootDevice: text(64) })]),
  report: z.union([error, report]),
  probes: z.union([error, probes]),
  published: z.union([error, z.object({ version: z.number().int().min(0), digest: text(128) })]).optional(),
});

const file = z.object({ servers: list(server, MAX_SERVERS) });

/** Parsed and checked observations, or an Error whose message names the bad path. */
export function parseObserved(json: unknown): ObservedServer[] {
  const r = file.safeParse(json);
  if (r.success) return r.data.servers as ObservedServer[];
  const issue = r.error.issues[0];
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new Error(
    `${path || "(top level)"}: ${issue.message}; allowed: { "servers": [ObservedServer, ...] } as in lib/drift/observed.ts`,
  );
}
