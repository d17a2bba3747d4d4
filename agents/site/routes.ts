/**
 * The site services' routes. Each names its guard (who may call it), its body limit and schema; the
 * server (server.ts) enforces those before a handler runs, so a handler sees a caller's verified
 * identity and a body of the right shape only, and answers 4xx for anything else.
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { z } from "zod";
import { SERVICE_CSR_ROUTE, serviceDnsName } from "../../lib/agent/protocol";
import { fromPem, toPem } from "../../lib/pki/asn";
import {
  formatIdentity,
  issueFromCsr,
  leafNameProblem,
  parseCertificate,
  PkiError,
  type Identity,
} from "../../lib/pki";
import {
  armRequestSchema,
  enrollRequestSchema,
  macProblem,
  normaliseMac,
  readyReportSchema,
  serviceCsrRequestSchema,
  TOKEN_FORMAT,
} from "../../lib/site";
import { files, type SiteIdentity } from "./ca";
import { siteHostname, type ResolvedSiteConfig } from "./config";
import { HttpError, quote } from "./http";
import { jobCsrRoute } from "./job-route";
import { BODY_LIMITS } from "./limits";
import type { Registry } from "./registry";

export type Guard = "none" | "token" | "operator" | "computer";
/** Status and JSON body, or "sent" when the handler wrote the response itself. */
export type Result = [number, unknown] | "sent";

export interface Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly match: RegExpMatchArray;
  /** The caller's verified identity on operator and computer routes. */
  readonly peer?: Identity;
}

export interface Route {
  readonly method: "GET" | "POST";
  readonly pattern: RegExp;
  readonly guard: Guard;
  readonly body?: { readonly limit: number; readonly schema: z.ZodType };
  readonly handle: (ctx: Context, body: unknown) => Result;
}

/** A POST route whose handler receives the body its schema parsed. */
function post<S extends z.ZodType>(
  pattern: RegExp,
  guard: Guard,
  limit: number,
  schema: S,
  handle: (ctx: Context, body: z.infer<S>) => Result,
): Route {
  return {
    method: "POST",
    pattern,
    guard,
    body: { limit, schema },
    handle: (c, b) => handle(c, b as z.infer<S>),
  };
}

/** The one-time token of a token route; 403 when there is none (the route has no other way in). */
function bearer(req: IncomingMessage): string {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  if (!token)
    throw new HttpError(403, "this route needs Authorization: Bearer <the install's one-time token>");
  if (!TOKEN_FORMAT.test(token))
    throw new HttpError(403, "the bearer token is not a token of this site (43 base64url characters)");
  return token;
}

export function siteRoutes(
  config: ResolvedSiteConfig,
  id: SiteIdentity,
  registry: Registry,
  log: (msg: string) => void,
  /** Every CRL the site holds now (its own CA's and its config's files), as read for verification. */
  heldCrls: () => readonly Buffer[],
): Route[] {
  const zone = `${config.dataCenter}.${config.domain}`;
  const siteUrl = `https://${siteHostname(config)}:${config.port ?? 8443}`;
  const asHttp = (err: unknown): never => {
    if (err instanceof PkiError) throw new HttpError(400, `CSR refused: ${err.message}`);
    throw err;
  };
  const serverOf = (peer: Identity | undefined) => {
    const s = peer && registry.server(peer.name);
    if (!s) throw new HttpError(403, "not a server of this site");
    return s;
  };

  return [
    {
      method: "GET",
      pattern: /^\/netboot\/([^/]{1,64})$/,
      guard: "none",
      handle: ({ match }) => {
        let mac: string;
        try {
          mac = decodeURIComponent(match[1]);
        } catch {
          throw new HttpError(400, `"${quote(match[1])}" is not a valid percent-encoded MAC`);
        }
        const problem = macProblem(mac);
        if (problem) throw new HttpError(400, `"${quote(mac)}" is ${problem}`);
        mac = normaliseMac(mac);
        const cfg = registry.takeNetboot(mac);
        if (!cfg) throw new HttpError(404, "no install is armed for this MAC");
        const s = registry.serverByMac(mac);
        if (s) registry.upsert({ ...s, phase: "netbooted" });
        return [200, cfg];
      },
    },
    {
      // The image holds no secret (invariant 3); a live token of an armed install is still required.
      method: "GET",
      pattern: /^\/images\/([0-9a-f]{64})\.tar\.zst$/,
      guard: "token",
      handle: ({ req, res, match }) => {
        if (!registry.tokens.isLive(bearer(req)))
          throw new HttpError(403, "image download needs the live token of an armed install");
        const file = join(config.imageDir, `${match[1]}.tar.zst`);
        if (!existsSync(file)) throw new HttpError(404, `no image ${match[1]}`);
        res.writeHead(200, {
          "content-type": "application/zstd",
          "content-length": String(statSync(file).size),
        });
        // A read error mid-stream (file replaced, disk gone) ends this response only, never the process.
        createReadStream(file)
          .on("error", () => res.destroy())
          .pipe(res);
        return "sent";
      },
    },
    {
      // Public: the CRL of this site's issuing CA, for whoever verifies its certificates.
      method: "GET",
      pattern: /^\/crl$/,
      guard: "none",
      handle: ({ res }) => {
        const pem = readFileSync(files(config.stateDir).issuingCrl);
        res.writeHead(200, { "content-type": "application/pkix-crl", "content-length": String(pem.length) });
        res.end(pem);
        return "sent";
      },
    },
    {
      // Public like /crl: CRLs are signed, and whoever reads one learns only serials. Nodes fetch this
      // bundle (docs/site.md) and screen it against the CAs they hold before using it.
      method: "GET",
      pattern: /^\/crls$/,
      guard: "none",
      handle: () => [200, { crls: heldCrls().map((c) => toPem(fromPem(c, "X509 CRL"), "X509 CRL")) }],
    },
    post(/^\/enroll$/, "token", BODY_LIMITS.enroll, enrollRequestSchema, ({ req }, b) => {
      const token = bearer(req);
      // Check, issue, consume in one synchronous step: a refused CSR leaves the token for a retry, and
      // no second enrollment with the same token can run in between (see TokenStore.redeemWith).
      const r = registry.tokens.redeemWith(token, b.mac, (serverId) => {
        const server = registry.server(serverId);
        if (!server) throw new HttpError(409, "the server this token was armed for is no longer registered");
        try {
          const issued = issueFromCsr(id.ca, "computer", b.csrPem, {
            commonName: server.serverId,
            dnsNames: [server.hostname],
          });
          return { server, issued };
        } catch (err) {
          log(
            `enrollment CSR of ${server.serverId} refused; its token stays live: ${quote((err as Error).message, 300)}`,
          );
          return asHttp(err);
        }
      });
      registry.save();
      if (!r.ok) {
        const a = r.alert;
        const kept = registry.alert(a) ? "" : " (alert file full: not recorded)";
        log(
          `ALERT enrollment refused (${a.reason}) for MAC ${quote(a.mac)}${a.serverId ? ` (token of ${a.serverId})` : ""}${kept}`,
        );
        throw new HttpError(403, `enrollment refused: ${a.reason}`);
      }
      const { server, issued } = r.value;
      const info = parseCertificate(issued.certificatePem);
      registry.upsert({
        ...server,
        phase: "enrolled",
        // A new install: a readiness report of the server's earlier life says nothing about this one.
        lastReady: undefined,
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
    }),
    post(/^\/report\/ready$/, "computer", BODY_LIMITS.ready, readyReportSchema, ({ peer }, r) => {
      const s = serverOf(peer);
      registry.upsert({ ...s, phase: "ready", lastReady: { ...r, at: new Date().toISOString() } });
      return [200, { ok: true }];
    }),
    // A service certificate for one instance of the calling computer, named by the site under the
    // computer's own hostname (never what the CSR asks): the key stays on the node.
    post(
      new RegExp(`^${SERVICE_CSR_ROUTE}$`),
      "computer",
      BODY_LIMITS.serviceCsr,
      serviceCsrRequestSchema,
      ({ peer }, b) => {
        const s = serverOf(peer);
        const name = serviceDnsName(b.instance, s.hostname);
        try {
          const issued = issueFromCsr(id.ca, "service", b.csrPem, { commonName: name, dnsNames: [name] });
          log(`service certificate ${name} for ${s.serverId} (serial ${issued.serial})`);
          return [200, { certificatePem: issued.certificatePem, chainPem: id.chainPem }];
        } catch (err) {
          return asHttp(err);
        }
      },
    ),
    post(/^\/admin\/arm$/, "operator", BODY_LIMITS.arm, armRequestSchema, ({ peer }, b) => {
      const problem = leafNameProblem("computer", b.serverId, config.dataCenter, zone);
      if (problem) throw new HttpError(400, `serverId: ${problem}`);
      if (!b.hostname.endsWith(`.${zone}`))
        throw new HttpError(
          400,
          `hostname: "${b.hostname}" is not in ${zone}, the zone this site's CA may certify`,
        );
      const holder = registry.serverByMac(b.mac);
      if (holder && holder.serverId !== b.serverId)
        throw new HttpError(
          409,
          `MAC ${b.mac} belongs to ${holder.serverId}; arm that server, or correct the MAC`,
        );
      const token = registry.tokens.arm(b.serverId, b.mac, (config.tokenTtlSeconds ?? 900) * 1000);
      // Keep what is known of an installed server (its certificate) until a new enrollment replaces it.
      registry.upsert({
        ...registry.server(b.serverId),
        serverId: b.serverId,
        hostname: b.hostname,
        mac: b.mac,
        phase: "armed",
      });
      registry.offerNetboot(b.mac, {
        serverId: b.serverId,
        hostname: b.hostname,
        token,
        siteUrl,
        // the image of the server's role when the site has one for it (own keys only)
        imageSha256:
          config.serverImages && Object.hasOwn(config.serverImages, b.serverId)
            ? config.serverImages[b.serverId]
            : config.imageSha256,
        chainPem: id.chainPem,
        node: config.node,
      });
      log(`armed install of ${b.serverId} (${b.mac}) by ${peer ? formatIdentity(peer) : "?"}`);
      // The token goes only into the netboot configuration, never back to the caller.
      return [200, { serverId: b.serverId, phase: "armed" }];
    }),
    {
      method: "GET",
      pattern: /^\/admin\/servers\/([a-z0-9._-]{1,64})$/,
      guard: "operator",
      handle: ({ match }) => {
        const s = registry.server(match[1]);
        if (!s) throw new HttpError(404, `no server ${match[1]} at ${config.dataCenter}`);
        return [200, s];
      },
    },
    {
      method: "GET",
      pattern: /^\/admin\/alerts$/,
      guard: "operator",
      handle: () => [200, registry.alerts()],
    },
    jobCsrRoute(id, registry, log),
  ];
}
