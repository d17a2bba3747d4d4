/**
 * Live probes from the management network, independent of anything the server says about itself:
 *
 * - a TCP connect scan of PROBE_PORTS plus the ports the stack declares (firewall and endpoints).
 *   Ports 1-1024 hold every privileged service a hand-started root daemon would take (SSH, telnet,
 *   rsh, web, databases' legacy ports); COMMON_HIGH_PORTS adds the usual unprivileged listeners
 *   (SSH on 2222, databases, caches, dev servers). A full 65,535-port sweep per server per run
 *   would cost ~64x as much for little more: anything listening also shows in the agent's report
 *   (/proc/net/tcp), which covers every port on the host side.
 * - an SSH handshake with the `ssh2` client on port 22 and on every open port whose first bytes are
 *   an SSH banner: it must be refused; "accepted" means an SSH server spoke (key exchange done).
 *   No credential is ever offered (the username is a fixed probe name and no password or key).
 * - a TLS handshake without a client certificate on each declared TLS port: the certificate's
 *   subject and expiry, and whether the server refused to go on without a client certificate.
 */
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Client as SshClient } from "ssh2";
import type { ObservationError, ProbeObservation, SshProbe, TlsProbe } from "../observed";
import { mapBounded, reasonOf } from "./bounded";
import { ClosedBeforeUpgrade, isMysqlGreeting, mysqlTls, postgresqlTls, type TlsUpgrade } from "./starttls";

export const COMMON_HIGH_PORTS = [
  1080, 1433, 1521, 2049, 2222, 2375, 2376, 2379, 3000, 3306, 3389, 4444, 5000, 5432, 5900, 5984, 6379, 6443,
  7001, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9090, 9200, 9300, 10250, 11211, 27017,
];
export const PROBE_PORTS: readonly number[] = [
  ...Array.from({ length: 1024 }, (_, i) => i + 1),
  ...COMMON_HIGH_PORTS,
];

export interface ProbeOptions {
  /** Declared TCP ports (firewall and endpoints): scanned too. */
  readonly declaredTcpPorts: readonly number[];
  /** Declared TLS endpoints: each gets a TLS probe. */
  readonly tlsPorts: readonly number[];
  /** @default PROBE_PORTS */
  readonly ports?: readonly number[];
  /** One connect attempt (a default-deny firewall drops, so this is what a closed port costs). @default 800 */
  readonly connectTimeoutMs?: number;
  /** Connects in flight per server. @default 128 */
  readonly concurrency?: number;
  /** SSH and TLS handshakes. @default 5000 */
  readonly handshakeTimeoutMs?: number;
}

/** Whether a TCP connection to address:port completes within the timeout. */
export async function tcpOpen(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return (await tcpState(address, port, timeoutMs)) === "open";
}

/**
 * A TCP connect's outcome: "open", "refused" (the host answered with a reset: nothing listens, the
 * firewall let the attempt through) or "filtered" (no answer: dropped on the way, or a dead host).
 */
export function tcpState(
  address: string,
  port: number,
  timeoutMs: number,
): Promise<"open" | "refused" | "filtered"> {
  return new Promise((resolve) => {
    const s: Socket = tcpConnect({ host: address, port });
    const done = (state: "open" | "refused" | "filtered") => {
      clearTimeout(t);
      s.destroy();
      resolve(state);
    };
    const t = setTimeout(() => done("filtered"), timeoutMs);
    s.once("connect", () => done("open"));
    s.on("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "filtered"));
  });
}

/** The first bytes a server sends unasked (SSH servers send their banner first), or "" after the wait. */
export async function banner(address: string, port: number, timeoutMs: number): Promise<string> {
  return (await firstBytes(address, port, timeoutMs)).subarray(0, 64).toString("latin1");
}

/** The first bytes (at most one read) a server sends unasked, or none after the wait. */
function firstBytes(address: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: address, port });
    const done = (b: Buffer) => {
      clearTimeout(t);
      s.destroy();
      resolve(b);
    };
    const t = setTimeout(() => done(Buffer.alloc(0)), timeoutMs);
    s.once("data", (b: Buffer) => done(b.subarray(0, 512)));
    s.on("error", () => done(Buffer.alloc(0)));
    s.once("end", () => done(Buffer.alloc(0)));
  });
}

/** An SSH handshake that must fail; never offers a credential. */
export function sshProbe(address: string, port: number, timeoutMs: number): Promise<SshProbe> {
  return new Promise((resolve) => {
    const c = new SshClient();
    let spoke: string | undefined;
    let settled = false;
    const done = (p: SshProbe) => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(p);
    };
    c.on("handshake", (neg: { kex?: string }) => {
      spoke = `an SSH server completed key exchange (${neg.kex ?? "kex"})`;
    });
    c.on("ready", () =>
      done({ port, outcome: "accepted", detail: "an SSH server let the probe log in without a credential" }),
    );
    c.on("error", (e: Error & { level?: string; code?: string }) => {
      if (spoke)
        return done({ port, outcome: "accepted", detail: `${spoke}; it then refused the probe's login` });
      if (e.code === "ECONNREFUSED" || e.level === "client-timeout" || /timed out/i.test(e.message))
        return done({ port, outcome: "closed", detail: e.code ?? e.message });
      done({ port, outcome: "refused", detail: `no SSH session: ${reasonOf(e)}` });
    });
    c.on("close", () =>
      done(
        spoke
          ? { port, outcome: "accepted", detail: spoke }
          : { port, outcome: "refused", detail: "closed before an SSH handshake" },
      ),
    );
    // "none" authentication only: no password, no key, and no agent are ever sent to a stranger.
    c.connect({
      host: address,
      port,
      username: "zeroroot-drift-probe",
      readyTimeout: timeoutMs,
      tryKeyboard: false,
      authHandler: ["none"],
    });
  });
}

/**
 * A TLS handshake without a client certificate. A server that demands one fails the handshake
 * (TLS 1.2) or sends a "certificate required" alert right after it (TLS 1.3): both count; a server
 * that keeps the connection open for `settleMs` does not demand one.
 */
export async function tlsProbe(
  address: string,
  port: number,
  timeoutMs: number,
  settleMs = 1500,
  /** A connection already brought to where the server starts TLS (starttls.ts), and how. */
  upgraded?: { socket: Socket; upgrade: TlsUpgrade },
): Promise<TlsProbe> {
  return (await tlsHandshake(address, port, timeoutMs, settleMs, upgraded)).probe;
}

/** A TLS probe, and whether the server ended or reset the connection before the handshake began. */
interface Handshake {
  readonly probe: TlsProbe;
  readonly closedSilently: boolean;
}

function tlsHandshake(
  address: string,
  port: number,
  timeoutMs: number,
  settleMs: number,
  upgraded?: { socket: Socket; upgrade: TlsUpgrade },
): Promise<Handshake> {
  return new Promise((resolve) => {
    let cert: { subject?: string; notAfter?: string } = {};
    let secure = false;
    let settled = false;
    // Not verified here: the probe records what is served; the report's certificates are checked by expiry.
    const s = upgraded
      ? tlsConnect({ socket: upgraded.socket, rejectUnauthorized: false })
      : tlsConnect({ host: address, port, rejectUnauthorized: false });
    const done = (p: Omit<TlsProbe, "port">, closedSilently = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      s.destroy();
      resolve({
        probe: { port, ...(upgraded ? { upgrade: upgraded.upgrade } : {}), ...cert, ...p },
        closedSilently,
      });
    };
    const t = setTimeout(
      () =>
        secure
          ? done({ demandsClientCertificate: false })
          : done({ demandsClientCertificate: false, error: `no TLS handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
    s.once("secureConnect", () => {
      secure = true;
      const c = s.getPeerCertificate();
      if (c && c.subject)
        cert = {
          subject: Object.entries(c.subject)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(", "),
          notAfter: new Date(c.valid_to).toISOString(),
        };
      clearTimeout(t);
      setTimeout(() => done({ demandsClientCertificate: false }), settleMs);
    });
    s.on("data", () => undefined);
    const refused = () => done({ demandsClientCertificate: true });
    s.on("error", (e: Error & { code?: string }) => {
      // after the handshake any failure is the server's answer to a client without a certificate
      if (secure || /certificate|handshake failure|alert/i.test(`${e.code ?? ""} ${e.message}`))
        return refused();
      done({ demandsClientCertificate: false, error: reasonOf(e) }, e.code === "ECONNRESET");
    });
    s.once("end", () =>
      secure
        ? refused()
        : done({ demandsClientCertificate: false, error: "closed before the TLS handshake" }, true),
    );
  });
}

/** All probes of one server. */
export async function probeServer(
  address: string,
  opts: ProbeOptions,
): Promise<ProbeObservation | ObservationError> {
  const connectMs = opts.connectTimeoutMs ?? 800;
  const handshakeMs = opts.handshakeTimeoutMs ?? 5000;
  const ports = [...new Set([...(opts.ports ?? PROBE_PORTS), ...opts.declaredTcpPorts])].sort(
    (a, b) => a - b,
  );
  try {
    const open = (
      await mapBounded(ports, opts.concurrency ?? 128, async (p) =>
        (await tcpOpen(address, p, connectMs)) ? p : -1,
      )
    ).filter((p) => p >= 0);
    const tls = new Set(opts.tlsPorts);
    const candidates = await mapBounded(
      open.filter((p) => !tls.has(p)),
      16,
      async (p) => (p === 22 || (await banner(address, p, 1000)).startsWith("SSH-") ? p : -1),
    );
    const sshPorts = [...new Set([22, ...candidates.filter((p) => p >= 0)])];
    const ssh = await mapBounded(sshPorts, 4, (p) =>
      open.includes(p)
        ? sshProbe(address, p, handshakeMs)
        : Promise.resolve<SshProbe>({ port: p, outcome: "closed", detail: "no TCP connection" }),
    );
    const tlsResults = await mapBounded([...tls], 8, (p) =>
      open.includes(p) ? tlsEndpointProbe(address, p, handshakeMs) : notOpen(address, p, connectMs),
    );
    return { address, openTcpPorts: open, ssh, tls: tlsResults };
  } catch (e) {
    return { error: `probes of ${address} failed: ${reasonOf(e)}` };
  }
}

/** A declared TLS port that did not connect in the sweep: nothing listening, or no way through. */
async function notOpen(address: string, port: number, connectMs: number): Promise<TlsProbe> {
  const state = await tcpState(address, port, connectMs * 2);
  if (state === "refused") return { port, demandsClientCertificate: false, listening: false };
  if (state === "open") return tlsEndpointProbe(address, port, connectMs * 6);
  return { port, demandsClientCertificate: false, error: "no TCP connection (filtered or no answer)" };
}

/** Not TLS from the first byte: the server answered, then failed or closed before any handshake. */
const NOT_DIRECT_TLS =
  /wrong version number|packet length too long|unknown protocol|closed before the TLS handshake|ECONNRESET|socket hang up/i;

/**
 * A TLS endpoint: a direct TLS handshake, or — for a server that greets first (MySQL) or rejects a
 * direct handshake (PostgreSQL) — the protocol's own TLS upgrade, then the same handshake.
 */
export async function tlsEndpointProbe(address: string, port: number, timeoutMs: number): Promise<TlsProbe> {
  const viaUpgrade = async (upgrade: TlsUpgrade): Promise<Handshake> => {
    try {
      const socket = await (upgrade === "mysql" ? mysqlTls : postgresqlTls)(address, port, timeoutMs);
      return await tlsHandshake(address, port, timeoutMs, 1500, { socket, upgrade });
    } catch (e) {
      return {
        probe: { port, demandsClientCertificate: false, error: `no TLS: ${reasonOf(e)}` },
        closedSilently: e instanceof ClosedBeforeUpgrade && e.silently,
      };
    }
  };
  if (isMysqlGreeting(await firstBytes(address, port, 700))) return (await viaUpgrade("mysql")).probe;
  const direct = await tlsHandshake(address, port, timeoutMs, 1500);
  if (!direct.probe.error || !NOT_DIRECT_TLS.test(direct.probe.error)) return direct.probe;
  const pg = await viaUpgrade("postgresql");
  if (!pg.probe.error) return pg.probe;
  // Closed (FIN or reset) before any byte on every way in, not even an alert: the server admits only
  // listed peers (Galera's wsrep_allowlist) and accepted nothing from the probe — nothing to read.
  if (direct.closedSilently && pg.closedSilently)
    return { port, demandsClientCertificate: true, closesOnProber: true };
  return { ...direct.probe, error: `${direct.probe.error}; ${pg.probe.error}` };
}
