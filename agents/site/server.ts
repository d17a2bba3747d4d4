/**
 * The site services' HTTPS server. One TLS listener asks every client for a certificate but
 * accepts connections without one, so that the netboot and enrollment calls (authenticated by the
 * one-time token) share the port with the mutual-TLS routes.
 *
 * On operator and computer routes a caller passes two independent checks: OpenSSL's verification of
 * the handshake's chain against the root (`socket.authorized`), and lib/pki's verifyIdentity on the
 * same chain's DER with the site's CRLs, which yields the (data center, kind, name) every decision
 * takes. OpenSSL alone knows neither our CRLs (they change while the listener runs) nor identities;
 * keeping it as well means a certificate passes only if two parsers agree on it. Verification runs per
 * request, not per connection, so a revocation applies on the next request of a kept-alive connection.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import { formatIdentity, type Identity } from "../../lib/pki";
import { authorisePeer, CrlFiles } from "../../lib/site";
import { files, type SiteIdentity } from "./ca";
import { resolveSiteConfig, type ResolvedSiteConfig, type SiteConfig } from "./config";
import { renewSiteCrlIfDue } from "./crl";
import { HttpError, quote, readBody, send } from "./http";
import { DEFAULT_SITE_LIMITS, type SiteLimits } from "./limits";
import type { Registry } from "./registry";
import { siteRoutes, type Route } from "./routes";

export function createSiteServer(
  given: SiteConfig,
  id: SiteIdentity,
  registry: Registry,
  log: (msg: string) => void,
  limitsOverride: Partial<SiteLimits> = {},
): Server {
  const config = resolved(given);
  const limits = { ...DEFAULT_SITE_LIMITS, ...limitsOverride };
  const crls = new CrlFiles([...(config.crls ?? []), files(config.stateDir).issuingCrl], log);
  let ownCrlRenewAt = renewSiteCrlIfDue(config, id.ca);
  const currentCrls = () => {
    if (Date.now() >= ownCrlRenewAt) ownCrlRenewAt = renewSiteCrlIfDue(config, id.ca);
    return crls.current();
  };
  const routes = siteRoutes(config, id, registry, log, currentCrls);

  const server = createServer(
    {
      key: id.tls.key,
      cert: id.tls.cert,
      ca: id.rootPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      handshakeTimeout: limits.handshakeTimeoutMs,
      maxHeaderSize: limits.maxHeaderSize,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
    (req, res) => {
      void handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500)
          log(`internal error on ${req.method} ${quote(req.url)}: ${quote((err as Error).message, 300)}`);
        // A response already under way (an image) cannot change its status: cut it instead.
        if (res.headersSent) return void res.destroy();
        // After a refused body the rest of it is not read: the connection ends with the answer.
        send(
          res,
          status,
          { error: err instanceof HttpError ? err.message : "internal error" },
          status === 413,
        );
      });
    },
  );
  server.headersTimeout = limits.headersTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  return server;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
    if (!route) throw new HttpError(404, `no route ${quote(req.method, 10)} ${quote(path)}`);
    const match = path.match(route.pattern) as RegExpMatchArray;
    const peer =
      route.guard === "operator" || route.guard === "computer" ? authorise(req, route, path) : undefined;
    const body = route.body ? await readBody(req, route.body.limit, route.body.schema) : undefined;
    const result = route.handle({ req, res, match, peer }, body);
    if (result !== "sent") send(res, result[0], result[1]);
  }

  function authorise(req: IncomingMessage, route: Route, path: string): Identity {
    const socket = req.socket as TLSSocket;
    const chain = peerChain(socket);
    const refuse = (status: number, message: string): never => {
      log(`refused ${route.method} ${quote(path)}: ${quote(message, 400)}`);
      throw new HttpError(status, message);
    };
    if (chain.length > 0 && !socket.authorized)
      refuse(
        401,
        `the client certificate does not verify against the root (${quote(socket.authorizationError)})`,
      );
    const decision = authorisePeer(
      { chain, rootPem: id.rootPem, crls: currentCrls(), strictCrl: config.strictCrl ?? false },
      route.guard === "operator"
        ? { route: "operator", operators: config.operatorIdentities }
        : {
            route: "computer",
            dataCenter: config.dataCenter,
            registered: (name) => registry.server(name) !== undefined,
          },
    );
    if (!decision.ok) return refuse(decision.status, decision.message);
    if (route.guard === "operator") log(`${route.method} ${path} by ${formatIdentity(decision.identity)}`);
    return decision.identity;
  }
}

/** The peer's certificates as DER, leaf first: what it sent, plus what OpenSSL completed the path with. */
function peerChain(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && out.length < 8 && !out.some((d) => d.equals(cert!.raw))) {
    out.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return out;
}

function resolved(config: SiteConfig): ResolvedSiteConfig {
  if ("operatorIdentities" in config) return config as ResolvedSiteConfig;
  return resolveSiteConfig(config, "(given to createSiteServer)");
}
