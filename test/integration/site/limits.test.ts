/**
 * Connection and request bounds of the site, with short limits so that the test waits seconds, not
 * minutes: the mechanism is Node's (server options), the values are the site's (agents/site/limits.ts).
 */
import { strict as assert } from "node:assert";
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { DEFAULT_SITE_LIMITS } from "../../../agents/site/limits";
import { ROUTES } from "../../../lib/site";
import { startSite, type SiteFixture } from "../../helpers/site-fixture";
import { json, raw } from "../../unit/site/helpers";

const closedWithin = (socket: Socket, ms: number) =>
  new Promise<number>((resolve, reject) => {
    const start = Date.now();
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
  });

describe("site services: connection and request limits", () => {
  let site: SiteFixture;
  const port = () => Number(new URL(site.url).port);
  const tls = () =>
    new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect(
        { port: port(), host: "127.0.0.1", ca: site.rootPem, servername: site.serverName },
        () => resolve(s),
      );
      s.on("error", reject);
    });
  before(
    async () =>
      (site = await startSite({
        handshakeTimeoutMs: 1_000,
        headersTimeoutMs: 1_000,
        requestTimeoutMs: 2_000,
        keepAliveTimeoutMs: 500,
        idleTimeoutMs: 3_000,
        timeoutCheckIntervalMs: 250,
        maxConnections: 8,
      })),
  );
  after(() => site.close());

  it("cuts a TCP connection that never finishes its TLS handshake", async () => {
    const s = tcpConnect(port(), "127.0.0.1");
    assert.ok((await closedWithin(s, 4_000)) >= 900);
  });

  it("answers 408 and closes when the request headers trickle in too slowly", async () => {
    const s = await tls();
    const data: Buffer[] = [];
    s.on("data", (c: Buffer) => data.push(c));
    s.write("GET /admin/alerts HTTP/1.1\r\nHost: x\r\n");
    await closedWithin(s, 5_000);
    assert.match(Buffer.concat(data).toString(), /^HTTP\/1\.1 408/);
  });

  it("answers 408 when a body is announced and never sent", async () => {
    const s = await tls();
    const data: Buffer[] = [];
    s.on("data", (c: Buffer) => data.push(c));
    s.write(
      "POST /enroll HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    );
    await closedWithin(s, 6_000);
    assert.match(Buffer.concat(data).toString(), /^HTTP\/1\.1 408/);
  });

  it("closes an idle kept-alive connection", async () => {
    const s = await tls();
    s.write("GET /crl HTTP/1.1\r\nHost: x\r\n\r\n");
    s.on("data", () => undefined);
    assert.ok((await closedWithin(s, 4_000)) < 4_000);
  });

  it("accepts no more than maxConnections connections at once", async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => tcpConnect(port(), "127.0.0.1")));
    await new Promise((r) => setTimeout(r, 100));
    const extra = tcpConnect(port(), "127.0.0.1");
    assert.ok((await closedWithin(extra, 1_000)) < 1_000, "the ninth connection is dropped at once");
    held.forEach((s) => s.destroy());
  });

  it("refuses headers over maxHeaderSize with 431", async () => {
    const r = await raw(site, "GET", ROUTES.alerts, {
      headers: { "x-pad": "a".repeat(DEFAULT_SITE_LIMITS.maxHeaderSize) },
    });
    assert.equal(r.status, 431);
  });

  it("refuses an announced body over the route's limit before reading it, and a streamed one at the limit", async () => {
    const big = json({ mac: "52:54:00:01:01:11", csrPem: "x".repeat(20_000) });
    assert.equal(
      (
        await raw(site, "POST", ROUTES.enroll, {
          ...big,
          headers: { ...big.headers, authorization: `Bearer ${"A".repeat(43)}` },
        })
      ).status,
      413,
    );
    const chunked = {
      "content-type": "application/json",
      "transfer-encoding": "chunked",
      authorization: `Bearer ${"A".repeat(43)}`,
    };
    assert.equal((await raw(site, "POST", ROUTES.enroll, { headers: chunked, body: big.body })).status, 413);
  });
});
