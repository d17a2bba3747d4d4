/**
 * TLS that starts inside an application protocol: PostgreSQL (an SSLRequest before any startup
 * message) and MySQL/MariaDB (the server's greeting, then an SSLRequest packet). A raw TLS probe of
 * such a port fails before any handshake, which is not "unreachable": these helpers bring the
 * socket to the point where the server starts TLS and hand it to the TLS probe. Nothing else is
 * sent: no startup message, no user, no credential.
 *
 * The databases demand the client certificate at their login step (pg_hba `clientcert`, MariaDB
 * `REQUIRE X509`), after the handshake, so a certificate-less probe learns whether TLS is offered
 * and which certificate is served, not whether a certificate is demanded (docs/drift.md, Probes).
 */
import { connect as tcpConnect, type Socket } from "node:net";

export type TlsUpgrade = "postgresql" | "mysql";

/** PostgreSQL's SSLRequest: length 8, code 80877103 (1234 << 16 | 5679). */
const PG_SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
/** MySQL capability flags: CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION. */
const MYSQL_CAPS = 0x0001 | 0x0200 | 0x0800 | 0x8000;
const MYSQL_CLIENT_SSL = 0x0800;

/** Whether the first bytes a server sent unasked are a MySQL protocol-10 greeting (packet 0). */
export function isMysqlGreeting(first: Buffer): boolean {
  if (first.length < 5 || first[3] !== 0 || first[4] !== 0x0a) return false;
  const length = first.readUIntLE(0, 3); // a greeting is tens of bytes: a 3-byte length that says so
  return length >= 20 && length <= 1024;
}

/** The capability flags (lower 16 bits) of a MySQL greeting; undefined when it is cut short. */
export function mysqlGreetingCapabilities(g: Buffer): number | undefined {
  const end = g.indexOf(0, 5); // server version, NUL-terminated
  const at = end + 1 + 4 + 8 + 1; // thread id, auth data part 1, filler
  return end < 0 || g.length < at + 2 ? undefined : g.readUInt16LE(at);
}

/** The SSLRequest packet (sequence 1): capabilities, max packet size, utf8 charset, 23 zero bytes. */
export function mysqlSslRequest(): Buffer {
  const body = Buffer.alloc(32);
  body.writeUInt32LE(MYSQL_CAPS, 0);
  body.writeUInt32LE(16 * 1024 * 1024, 4);
  body[8] = 33;
  return Buffer.concat([Buffer.from([32, 0, 0, 1]), body]);
}

/**
 * Opens a TCP connection and runs `dialogue` on the bytes the server sends; resolves with the
 * socket once the dialogue says TLS may start, or rejects with why not. Bounded by `timeoutMs`
 * and by 4 KiB of server bytes.
 */
function upgrade(
  address: string,
  port: number,
  timeoutMs: number,
  onConnect: (s: Socket) => void,
  dialogue: (received: Buffer, s: Socket) => "wait" | "ready" | string,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: address, port });
    let got = Buffer.alloc(0);
    const t = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string | Error) => {
      clearTimeout(t);
      s.destroy();
      reject(typeof why === "string" ? new Error(why) : why);
    };
    const onData = (b: Buffer) => {
      got = Buffer.concat([got, b]).subarray(0, 4096);
      const next = dialogue(got, s);
      if (next === "wait") return;
      s.off("data", onData);
      if (next !== "ready") return fail(next);
      clearTimeout(t);
      s.removeAllListeners("error");
      s.removeAllListeners("end");
      resolve(s);
    };
    s.once("connect", () => onConnect(s));
    s.on("data", onData);
    // Ended (FIN) or reset before a byte of the dialogue: the server shut the prober out.
    const closed = () => fail(new ClosedBeforeUpgrade(got.length === 0));
    s.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? closed() : fail(e.message)));
    s.once("end", closed);
  });
}

/** The server closed or reset the connection before the dialogue said TLS may start. */
export class ClosedBeforeUpgrade extends Error {
  constructor(
    /** Not one byte came first: the server shut the prober out unheard. */
    readonly silently: boolean,
  ) {
    super("the server closed the connection");
  }
}

/** A socket where the PostgreSQL server has agreed to start TLS ('S'); rejects on 'N' or anything else. */
export function postgresqlTls(address: string, port: number, timeoutMs: number): Promise<Socket> {
  return upgrade(
    address,
    port,
    timeoutMs,
    (s) => s.write(PG_SSL_REQUEST),
    (got) =>
      got[0] === 0x53
        ? "ready"
        : got[0] === 0x4e
          ? "the PostgreSQL server does not offer TLS (SSLRequest answered N)"
          : "not a PostgreSQL server",
  );
}

/** A socket where the MySQL server, after its greeting, is about to start TLS. */
export function mysqlTls(address: string, port: number, timeoutMs: number): Promise<Socket> {
  return upgrade(
    address,
    port,
    timeoutMs,
    () => undefined,
    (got, s) => {
      if (got.length < 4) return "wait";
      const length = got.readUIntLE(0, 3);
      if (got.length < 4 + length) return got.length >= 4096 ? "the MySQL greeting is too long" : "wait";
      if (!isMysqlGreeting(got)) return "not a MySQL greeting";
      const caps = mysqlGreetingCapabilities(got.subarray(0, 4 + length));
      if (caps === undefined) return "the MySQL greeting is cut short";
      if ((caps & MYSQL_CLIENT_SSL) === 0) return "the MySQL server does not offer TLS (no CLIENT_SSL)";
      s.write(mysqlSslRequest());
      return "ready";
    },
  );
}
