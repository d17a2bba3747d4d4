/**
 * The site services' HTTPS server. One TLS listener asks every client for a certificate but
 * accepts connections without one, so that the netboot and enrollment calls (authenticated by the
 * one-time token) share the port with the mutual-TLS routes; every other route refuses a client
 * whose certificate did not verify against the root, or whose CN is not allowed on it.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { issueFromCsr, parseCertificate, PkiError } from "../../lib/pki";
import { type ArmRequest, type EnrollRequest, type ReadyReport } from "../../lib/site";
import { SERVICE_CSR_ROUTE, serviceDnsName, type ServiceCsrRequest } from "../../lib/agent/protocol";
import { siteHostname, type SiteConfig } from "./config";
import type { SiteIdentity } from "./ca";
import type { Registry } from "./registry";

/** A handler returns status and JSON body, or "sent" when it wrote the response itself. */
type Handler = (
  req: IncomingMessage,
  body: unknown,
  match: RegExpMatchArray,
  res: ServerResponse,
) => Promise<[number, unknown] | "sent"> | [number, unknown] | "sent";
type Guard = "token" | "none" | "operator" | "computer";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createSiteServer(
  config: SiteConfig,
  id: SiteIdentity,
  registry: Registry,
  log: (msg: string) => void,
): Server {
  const siteUrl = `https://${siteHostname(config)}:${config.port ?? 8443}`;
  const peerCn = (req: IncomingMessage) => (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;

  const routes: { method: string; pattern: RegExp; guard: Guard; handler: Handler }[] = [
    {
      method: "GET",
      pattern: /^\/netboot\/([0-9a-f:%A-F]+)$/,
      guard: "none",
      handler: (_req, _b, m) => {
        const mac = decodeURIComponent(m[1]).toLowerCase();
        const cfg = registry.takeNetboot(mac);
        if (!cfg) throw new HttpError(404, "no install is armed for this MAC");
        const s = registry.serverByMac(mac);
        if (s) registry.upsert({ ...s, phase: "netbooted" });
        return [200, cfg];
      },
    },
    {
      method: "GET",
      pattern: /^\/images\/([0-9a-f]{64})\.tar\.zst$/,
      guard: "token",
      handler: (req, _b, m, res) => streamImage(req, res, m[1]),
    },
    {
      method: "POST",
      pattern: /^\/enroll$/,
      guard: "token",
      handler: (req, body) => {
        const b = body as Partial<EnrollRequest>;
        const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
        if (!token || typeof b.mac !== "string" || typeof b.csrPem !== "string")
          throw new HttpError(400, "enroll needs Authorization: Bearer <token> and {mac, csrPem}");
        const result = registry.tokens.redeem(token, b.mac);
        registry.save();
        if (!result.ok) {
          registry.alert(result.alert);
          log(
            `ALERT enrollment refused (${result.alert.reason}) for MAC ${result.alert.mac}${result.alert.serverId ? ` (token of ${result.alert.serverId})` : ""}`,
          );
          throw new HttpError(403, `enrollment refused: ${result.alert.reason}`);
        }
        const server = registry.server(result.serverId);
        if (!server) throw new HttpError(409, "the server this token was armed for is no longer registered");
        try {
          const issued = issueFromCsr(id.ca, "computer", b.csrPem, {
            commonName: server.serverId,
            dnsNames: [server.hostname],
          });
          const info = parseCertificate(issued.certificatePem);
          registry.upsert({
            ...server,
            phase: "enrolled",
            certificate: {
              subject: `CN=${info.commonName}`,
              issuer: `CN=${id.ca.info.commonName}`,
              serial: issued.serial,
              notAfter: issued.notAfter.toISOString(),
              pem: issued.certificatePem,
            },
          });
          log(`enrolled ${server.serverId} (serial ${issued.serial})`);
          return [200, { certificatePem: issued.certificatePem, chainPem: id.chainPem }];
        } catch (err) {
          if (err instanceof PkiError) throw new HttpError(400, `CSR refused: ${err.message}`);
          throw err;
        }
      },
    },
    {
      method: "POST",
      pattern: /^\/report\/ready$/,
      guard: "computer",
      handler: (req, body) => {
        const cn = peerCn(req) as string;
        const s = registry.server(cn);
        if (!s) throw new HttpError(403, `computer ${cn} is not a server of ${config.dataCenter}`);
        const r = body as ReadyReport;
        registry.upsert({
          ...s,
          phase: "ready",
          lastReady: {
            agentUser: String(r.agentUser),
            agentUid: Number(r.agentUid),
            listeningTcpPorts: (r.listeningTcpPorts ?? []).map(Number),
            bootId: String(r.bootId),
            at: new Date().toISOString(),
          },
        });
        return [200, { ok: true }];
      },
    },
    {
      // A service certificate for one instance of the calling computer, named by the site under the
      // computer's own hostname (never what the CSR asks): the key stays on the node.
      method: "POST",
      pattern: new RegExp(`^${SERVICE_CSR_ROUTE}$`),
      guard: "computer",
      handler: (req, body) => {
        const b = body as Partial<ServiceCsrRequest>;
        const s = registry.server(peerCn(req) as string);
        if (!s) throw new HttpError(403, "not a server of this site");
        if (typeof b.instance !== "string" || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(b.instance))
          throw new HttpError(400, "services/csr needs {instance: a DNS label [a-z0-9-], csrPem}");
        if (typeof b.csrPem !== "string") throw new HttpError(400, "services/csr needs {instance, csrPem}");
        const name = serviceDnsName(b.instance, s.hostname);
        try {
          const issued = issueFromCsr(id.ca, "service", b.csrPem, { commonName: name, dnsNames: [name] });
          log(`service certificate ${name} for ${s.serverId} (serial ${issued.serial})`);
          return [200, { certificatePem: issued.certificatePem, chainPem: id.chainPem }];
        } catch (err) {
          if (err instanceof PkiError) throw new HttpError(400, `CSR refused: ${err.message}`);
          throw err;
        }
      },
    },
    {
      method: "POST",
      pattern: /^\/admin\/arm$/,
      guard: "operator",
      handler: (_req, body) => {
        const b = body as Partial<ArmRequest>;
        if (typeof b.serverId !== "string" || typeof b.mac !== "string" || typeof b.hostname !== "string")
          throw new HttpError(400, "arm needs {serverId, hostname, mac}");
        const mac = b.mac.toLowerCase();
        const token = registry.tokens.arm(b.serverId, mac, (config.tokenTtlSeconds ?? 900) * 1000);
        // Keep what is known of an installed server (its certificate) until a new enrollment replaces it.
        registry.upsert({
          ...registry.server(b.serverId),
          serverId: b.serverId,
          hostname: b.hostname,
          mac,
          phase: "armed",
        });
        registry.offerNetboot(mac, {
          serverId: b.serverId,
          hostname: b.hostname,
          token,
          siteUrl,
          imageSha256: config.imageSha256,
          chainPem: id.chainPem,
          node: config.node,
        });
        log(`armed install of ${b.serverId} (${mac})`);
        // The token goes only into the netboot configuration, never back to the caller.
        return [200, { serverId: b.serverId, phase: "armed" }];
      },
    },
    {
      method: "GET",
      pattern: /^\/admin\/servers\/([a-z0-9-]+)$/,
      guard: "operator",
      handler: (_req, _b, m) => {
        const s = registry.server(m[1]);
        if (!s) throw new HttpError(404, `no server ${m[1]} at ${config.dataCenter}`);
        return [200, s];
      },
    },
    {
      method: "GET",
      pattern: /^\/admin\/alerts$/,
      guard: "operator",
      handler: () => [200, registry.alerts()],
    },
  ];

  return createServer(
    {
      key: id.tls.key,
      cert: id.tls.cert,
      ca: id.rootPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (req, res) => {
      void handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) log(`internal error on ${req.method} ${req.url}: ${(err as Error).message}`);
        send(res, status, { error: err instanceof HttpError ? err.message : "internal error" });
      });
    },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
    if (!route) throw new HttpError(404, `no route ${req.method} ${path}`);
    const match = path.match(route.pattern) as RegExpMatchArray;
    const socket = req.socket as TLSSocket;
    if (route.guard === "operator" || route.guard === "computer") {
      if (!socket.authorized)
        throw new HttpError(
          401,
          `this route needs a client certificate of the platform's hierarchy (${socket.authorizationError ?? "none presented"})`,
        );
      const cert = socket.getPeerCertificate();
      const cn = String(cert.subject?.CN ?? "");
      if (route.guard === "operator" && !config.operators.includes(cn))
        throw new HttpError(403, `${cn} is not an operator of ${config.dataCenter}`);
      if (route.guard === "computer" && !registry.server(cn))
        throw new HttpError(403, `${cn} is not a server of ${config.dataCenter}`);
    }
    const body = req.method === "POST" ? await readJson(req) : undefined;
    const result = await route.handler(req, body, match, res);
    if (result !== "sent") send(res, result[0], result[1]);
  }

  function streamImage(req: IncomingMessage, res: ServerResponse, sha: string): "sent" {
    // The image holds no secret (invariant 3); a valid armed token is still required to fetch it.
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !registry.tokens.isLive(token))
      throw new HttpError(403, "image download needs the live token of an armed install");
    const file = join(config.imageDir, `${sha}.tar.zst`);
    if (!existsSync(file)) throw new HttpError(404, `no image ${sha}`);
    res.writeHead(200, { "content-type": "application/zstd", "content-length": String(statSync(file).size) });
    createReadStream(file).pipe(res);
    return "sent";
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new HttpError(413, "request body over 1 MB");
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the request body is not JSON");
  }
}
