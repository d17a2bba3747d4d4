/**
 * Every data center's CRLs for the datastore releases (agents/crl/crl_sources.py, run by python3 and
 * openssl as on a server): a CRL is hostile input, so each is screened against the CAs the node holds
 * or received in a site's verified TLS chain — wrong issuer, forged or damaged signature, passed
 * nextUpdate, oversized or garbage PEM are dropped with a reason; of one issuer the newest is kept.
 * The keeper fetches real HTTPS "sites" (a node:https server with a site certificate of a data
 * center's CA) and checks another data center's CRL against that CA, taken from the verified chain.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:https";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createCsr,
  crlFromCeremony,
  exportPkcs8,
  generateKeyPair,
  initCeremony,
  issueCrl,
  MAX_CRL_BYTES,
  openCa,
  signWithCeremony,
} from "../../../lib/pki";
import { fromPem, toPem } from "../../../lib/pki/asn";

const MODULE_DIR = join(__dirname, "../../../agents/crl");
const PASS = "crl-sources-test-passphrase";
const DAY = 86_400_000;

/** Runs `code` in python3 with crl_sources importable; `input` on stdin as JSON; returns its JSON. */
async function onNode<T>(code: string, input: unknown): Promise<T> {
  const py = `import json, sys, time; sys.path.insert(0, ${JSON.stringify(MODULE_DIR)})
import crl_sources as c
i = json.load(sys.stdin)
${code}`;
  const child = execFile("python3", ["-B", "-c", py], { encoding: "utf8", maxBuffer: 64 << 20 });
  child.stdin!.end(JSON.stringify(input));
  const [out, err] = await new Promise<[string, string]>((resolve, reject) => {
    let o = "";
    let e = "";
    child.stdout!.on("data", (d: string) => (o += d));
    child.stderr!.on("data", (d: string) => (e += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve([o, e]) : reject(new Error(`python3 exited ${code}: ${e}`)),
    );
  });
  void err;
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

describe("CRLs of every data center, screened before use (crl_sources.py)", function () {
  this.timeout(120_000);
  let dir: string;
  let pki: string;
  let foreignSameNames: string;
  let foreignOtherNames: string;
  let cas: string;
  const crl = (ceremony: string, signer: string) => crlFromCeremony(ceremony, signer, PASS);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "zr-crl-sources-"));
    pki = join(dir, "pki");
    foreignSameNames = join(dir, "foreign-same");
    foreignOtherNames = join(dir, "foreign-other");
    initCeremony({ dir: pki, domain: "zeroroot.test", dcs: ["dc1", "dc2"], passphrase: PASS });
    initCeremony({ dir: foreignSameNames, domain: "zeroroot.test", dcs: ["dc2"], passphrase: PASS });
    initCeremony({ dir: foreignOtherNames, domain: "elsewhere.test", dcs: ["dc2"], passphrase: PASS });
    cas = join(dir, "cas.pem");
    writeFileSync(
      cas,
      ["root", "dc1", "dc2"].map((s) => readFileSync(join(pki, s, "ca.pem"), "utf8")).join(""),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("holds the same size bound as lib/pki", async () => {
    assert.equal(await onNode<number>("print(c.MAX_CRL_BYTES)", null), MAX_CRL_BYTES);
  });

  it("refuses each hostile CRL with its reason and keeps the genuine ones", async () => {
    const good = crl(pki, "dc2");
    const der = fromPem(good, "X509 CRL");
    const damaged = Buffer.from(der);
    damaged[damaged.length - 3] ^= 0x01; // inside the signature value
    const expired = issueCrl(openCa(pki, "dc2", PASS), [], {
      number: 99,
      thisUpdate: new Date(Date.now() - 3 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    });
    const oversized = `-----BEGIN X509 CRL-----\n${"QUFB\n".repeat((MAX_CRL_BYTES >> 2) + 16)}-----END X509 CRL-----\n`;
    const table: [string, string, RegExp | null][] = [
      ["dc2's CRL, signed by dc2's CA", good, null],
      ["the root's CRL", crl(pki, "root"), null],
      [
        "wrong issuer: a CA of another hierarchy",
        crl(foreignOtherNames, "dc2"),
        /issuer is none of the platform's CAs/,
      ],
      ["forged: dc2's CA's name, another key", crl(foreignSameNames, "dc2"), /signature is not its issuer's/],
      ["damaged signature", toPem(damaged, "X509 CRL"), /signature is not its issuer's/],
      ["nextUpdate passed", expired, /^expired \(nextUpdate /],
      ["oversized", oversized, new RegExp(`bytes; at most ${MAX_CRL_BYTES}$`)],
      [
        "garbage between PEM lines",
        "-----BEGIN X509 CRL-----\nnot base64!\n-----END X509 CRL-----\n",
        /not one PEM/,
      ],
      [
        "base64 that is no CRL",
        "-----BEGIN X509 CRL-----\nQUJDREVGR0g=\n-----END X509 CRL-----\n",
        /not a readable CRL/,
      ],
      ["two CRLs in one entry", good + good, /not one PEM/],
      ["a certificate, not a CRL", readFileSync(join(pki, "dc2", "ca.pem"), "utf8"), /not one PEM/],
      ["empty", "", /not one PEM/],
    ];
    const out = await onNode<(string | null)[]>(
      `print(json.dumps([c.check_crl(p.encode("latin-1"), i["cas"], i["dir"], time.time())[1] for p in i["pems"]]))`,
      { cas, dir, pems: table.map((t) => t[1]) },
    );
    const printed = table.map(([what], n) => `${what}: ${out[n] ?? "kept"}`);
    process.stderr.write(`      ${printed.join("\n      ")}\n`);
    table.forEach(([what, , want], n) => {
      if (want === null) assert.equal(out[n], null, `${what} is kept`);
      else assert.match(out[n] ?? "kept", want, what);
    });
  });

  it("keeps the newest CRL of an issuer, whatever the order (no rollback)", async () => {
    const older = crl(pki, "dc1");
    const newer = crl(pki, "dc1");
    const out = await onNode<string[]>(
      `kept, dropped = c.screen([p.encode() for p in i["pems"]], i["cas"], i["dir"])
print(json.dumps([k.decode() for k in kept] + [str(dropped)]))`,
      { cas, dir, pems: [newer, older] },
    );
    assert.deepEqual(out, [newer.trim() + "\n", "[]"]);
  });

  it("keeps a CRL of an issuer it holds no certificate of only when asked (keep_unheld: PostgreSQL)", async () => {
    const unheld = crl(foreignOtherNames, "dc2");
    const out = await onNode<[number, number]>(
      `a = c.screen([i["pem"].encode()], i["cas"], i["dir"])
b = c.screen([i["pem"].encode()], i["cas"], i["dir"], keep_unheld=True)
print(json.dumps([len(a[0]), len(b[0])]))`,
      { cas, dir, pem: unheld },
    );
    assert.deepEqual(out, [0, 1]);
  });

  it("refuses each bad crlSources line with file, line and value", async () => {
    const lines: [string, boolean][] = [
      ["site.dc2.zeroroot.test@10.0.2.1:8443", true],
      ["# a comment", true],
      ["site.dc2.zeroroot.test@10.0.2.1", false],
      ["site.dc2.zeroroot.test@10.0.2.300:8443", false],
      ["site.dc2.zeroroot.test@10.0.2.1:70000", false],
      ["https://site.dc2.zeroroot.test/crls", false],
      ["db.dc2.zeroroot.test@10.0.2.1:8443", false],
      ["site.dc2.zeroroot.test@10.0.2.1:8443 extra", false],
      ["site.dc2.zeroroot.test@10.0.2.1:8443\u0000", false],
    ];
    const out = await onNode<(string | null)[]>(
      `out = []
for l in i:
    try:
        c.parse_sources(l, "etc/crl-sources.txt")
        out.append(None)
    except c.SourceError as e:
        out.append(str(e))
print(json.dumps(out))`,
      lines.map((l) => l[0]),
    );
    lines.forEach(([line, ok], n) => {
      if (ok) assert.equal(out[n], null, line);
      else
        assert.match(
          out[n] ?? "accepted",
          /^etc\/crl-sources\.txt:1: ".*"; allowed: site\.<dc>\.<domain>@<ipv4>:<port>/,
          line,
        );
    });
  });

  describe("the keeper, against HTTPS sites", () => {
    const servers: Server[] = [];
    /** A site of `dc` (certificate of its CA, named `name`) answering `GET /crls` with `body`. */
    const site = async (dc: string, name: string, body: () => string): Promise<number> => {
      const keys = generateKeyPair();
      const issued = signWithCeremony(
        pki,
        dc,
        PASS,
        "service",
        createCsr({ commonName: name, dnsNames: [name] }, keys.privateKey),
        {
          commonName: name,
          dnsNames: [name],
        },
      );
      const server = createServer(
        {
          key: exportPkcs8(keys.privateKey),
          cert: issued.certificatePem + readFileSync(join(pki, dc, "ca.pem"), "utf8"),
        },
        (req, res) => {
          res.writeHead(req.url === "/crls" ? 200 : 404, { "content-type": "application/json" });
          res.end(req.url === "/crls" ? body() : "{}");
        },
      );
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return (server.address() as AddressInfo).port;
    };
    after(() => servers.forEach((s) => s.close()));

    /** A dc1 node: its chain (dc1's CA, root), the agent's file (root and dc1 CRLs), the sources. */
    const refresh = async (sources: string[], node: string) => {
      mkdirSync(join(node, "run"), { recursive: true });
      writeFileSync(join(node, "chain.pem"), readFileSync(join(pki, "dc1", "chain.pem")));
      writeFileSync(join(node, "crls.pem"), crl(pki, "root") + crl(pki, "dc1"));
      writeFileSync(join(node, "crl-sources.txt"), sources.join("\n") + "\n");
      return onNode<{ out: string; log: string[]; complete: boolean }>(
        `log = []
k = c.CrlKeeper(i + "/crl-sources.txt", i + "/chain.pem", [i + "/crls.pem"], i + "/run/crls.pem", log.append)
k.refresh()
print(json.dumps({"out": open(i + "/run/crls.pem").read(), "log": log, "complete": k.complete}))`,
        node,
      );
    };

    it("checks dc2's CRL against dc2's CA from the site's verified chain; drops a forged one; is complete", async () => {
      const dc2Crl = crl(pki, "dc2");
      const forged = crl(foreignSameNames, "dc2");
      const port = await site("dc2", "site.dc2.zeroroot.test", () =>
        JSON.stringify({ crls: [forged, dc2Crl] }),
      );
      const r = await refresh([`site.dc2.zeroroot.test@127.0.0.1:${port}`], join(dir, "node-a"));
      const issuers = (r.out.match(/BEGIN X509 CRL/g) ?? []).length;
      assert.equal(issuers, 3, `root, dc1 and dc2: ${r.log.join(" | ")}`);
      assert.ok(r.out.includes(dc2Crl.trim()), "dc2's CRL is in use");
      assert.ok(!r.out.includes(forged.trim()), "the forged one is not");
      assert.ok(
        r.log.some((l) => /a CRL is not used: its signature is not its issuer's/.test(l)),
        r.log.join("\n"),
      );
      assert.equal(r.complete, true);
    });

    it("keeps a site's CRL in use while the site does not answer (its CA from the last verified chain)", async () => {
      // Lab up restarts sites while it grows or shrinks the fleet: a Galera member's guard that lost
      // dc2's CRL for that while evicted dc2's healthy member ("no current CRL of a CA of its chain").
      const dc2Crl = crl(pki, "dc2");
      const port = await site("dc2", "site.dc2.zeroroot.test", () => JSON.stringify({ crls: [dc2Crl] }));
      const node = join(dir, "node-c");
      await refresh([`site.dc2.zeroroot.test@127.0.0.1:${port}`], node);
      const closed = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, "127.0.0.1", () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const r = await onNode<{ first: string; second: string; log: string[]; complete: boolean }>(
        `log = []
k = c.CrlKeeper(i["node"] + "/crl-sources.txt", i["node"] + "/chain.pem", [i["node"] + "/crls.pem"], i["node"] + "/run/crls.pem", log.append)
k.refresh()
first = open(i["node"] + "/run/crls.pem").read()
open(i["node"] + "/crl-sources.txt", "w").write("site.dc2.zeroroot.test@127.0.0.1:%d\\n" % i["closed"])
k.refresh()
print(json.dumps({"first": first, "second": open(i["node"] + "/run/crls.pem").read(), "log": log, "complete": k.complete}))`,
        { node, closed },
      );
      assert.ok(r.first.includes(dc2Crl.trim()), `dc2's CRL is in use: ${r.log.join(" | ")}`);
      assert.ok(
        r.second.includes(dc2Crl.trim()),
        `and stays in use while dc2's site is away: ${r.log.join(" | ")}`,
      );
      assert.match(
        r.log.join("\n"),
        /CRLs of site\.dc2\.zeroroot\.test not fetched \(ConnectionRefusedError/,
      );
      assert.ok(!r.log.some((l) => /a CRL is not used/.test(l)), r.log.join("\n"));
      assert.equal(r.complete, true, "dc2's site answered once since the program started");
    });

    it("fetches nothing from a site whose certificate names another host, or whose answer is too large", async () => {
      const wrongName = await site("dc2", "other.dc2.zeroroot.test", () =>
        JSON.stringify({ crls: [crl(pki, "dc2")] }),
      );
      const huge = await site("dc2", "site.dc2.zeroroot.test", () =>
        JSON.stringify({ crls: ["x".repeat(5 << 20)] }),
      );
      const r = await refresh(
        [`site.dc2.zeroroot.test@127.0.0.1:${wrongName}`, `site.dc2.zeroroot.test@127.0.0.1:${huge}`],
        join(dir, "node-b"),
      );
      assert.equal((r.out.match(/BEGIN X509 CRL/g) ?? []).length, 2, "the agent's two only");
      assert.match(r.log.join("\n"), /not fetched \(SSLCertVerificationError: .*Hostname mismatch/);
      assert.match(r.log.join("\n"), /not fetched \(ValueError: answer larger than 4194304 bytes\)/);
      assert.equal(r.complete, false);
    });
  });
});
