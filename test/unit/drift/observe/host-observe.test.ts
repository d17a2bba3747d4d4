/**
 * What the agent reads about its own host for drift detection: /proc status lines, dpkg's status
 * file, /etc/passwd and PID 1's nftables listing (a real `nft -j list ruleset` of nft 1.0.6).
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeCapabilities,
  firewallFromNftJson,
  HOST_REPORT_LIMITS,
  nftablesDigest,
  parseDpkgStatus,
  parseNftablesListing,
  parsePasswd,
  parseProcStatus,
} from "../../../../lib/agent/host-observe";
import { observeHost } from "../../../../agents/node/observe";

/** Listed by nft 1.0.6 after applying a ruleset shaped like lib/hardening's (policy drop, 8443/9000 open). */
export const NFT_LISTING = {
  nftables: [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "inet", name: "zeroroot", handle: 1 } },
    { chain: { family: "inet", table: "zeroroot", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
    { chain: { family: "inet", table: "zeroroot", name: "output", handle: 3, type: "filter", hook: "output", prio: 0, policy: "accept" } },
    { rule: { family: "inet", table: "zeroroot", chain: "input", handle: 4, expr: [{ match: { op: "==", left: { meta: { key: "iif" } }, right: "lo" } }, { accept: null }] } },
    { rule: { family: "inet", table: "zeroroot", chain: "input", handle: 9, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: { set: [8443, 9000] } } }, { match: { op: "in", left: { ct: { key: "state" } }, right: "new" } }, { accept: null }] } },
    { rule: { family: "inet", table: "zeroroot", chain: "input", handle: 10, expr: [{ match: { op: "==", left: { payload: { protocol: "udp", field: "dport" } }, right: 53 } }, { accept: null }] } },
  ],
}; // prettier-ignore

/** The same, plus what `nft add rule inet zeroroot input tcp dport 2222 counter accept` adds. */
const withHandMadeRule = (packets = 0) => ({
  nftables: [
    ...NFT_LISTING.nftables,
    { rule: { family: "inet", table: "zeroroot", chain: "input", handle: 11, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 2222 } }, { counter: { packets, bytes: packets * 60 } }, { accept: null }] } },
  ],
}); // prettier-ignore

describe("the agent's host observation (drift detection's input)", () => {
  describe("capabilities and uids from /proc/<pid>/status", () => {
    it("decodes CapEff masks to capability names", () => {
      assert.deepEqual(decodeCapabilities("0000000000000000"), []);
      assert.deepEqual(decodeCapabilities("0000000000000400"), ["CAP_NET_BIND_SERVICE"]);
      assert.equal(decodeCapabilities("000001ffffffffff").length, 41);
      assert.deepEqual(decodeCapabilities("8000000000000000"), ["CAP_63"]);
    });
    it("refuses a mask that is not hex (no capability invented)", () => {
      for (const bad of ["", "zz", "1".repeat(17), "0x400"])
        assert.deepEqual(decodeCapabilities(bad), [], bad);
    });
    it("reads real, effective uid, capabilities and no_new_privs", () => {
      const s = parseProcStatus(
        "Name:\tsleep\nUid:\t2100\t0\t0\t0\nCapEff:\t0000000000003000\nNoNewPrivs:\t0\n",
      );
      assert.deepEqual(s, {
        uid: 2100,
        euid: 0,
        capabilities: ["CAP_NET_ADMIN", "CAP_NET_RAW"],
        noNewPrivileges: false,
      });
      assert.equal(parseProcStatus("Name:\tx\n"), undefined);
      assert.equal(parseProcStatus("Uid:\t2000\t2000\t2000\t2000\nNoNewPrivs:\t1\n")?.noNewPrivileges, true);
    });
  });

  describe("packages and accounts", () => {
    it("lists only installed packages, sorted", () => {
      const text = [
        "Package: zlib1g\nStatus: install ok installed\nVersion: 1",
        "Package: openssh-server\nStatus: deinstall ok config-files\nVersion: 1",
        "Package: bash\nStatus: install ok installed\nVersion: 5",
      ].join("\n\n");
      assert.deepEqual(parseDpkgStatus(text), ["bash", "zlib1g"]);
    });
    it("keeps platform accounts and any extra uid-0 account, not root itself nor system accounts", () => {
      const passwd = [
        "root:x:0:0:root:/root:/usr/sbin/nologin",
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "toor:x:0:0::/root:/bin/sh",
        "zr-agent:x:2000:2000::/var/lib/zeroroot/zr-agent:/usr/sbin/nologin",
        "zr-p000:x:2100:2100::/var/lib/zeroroot/zr-p000:/usr/sbin/nologin",
        "broken line",
      ].join("\n");
      assert.deepEqual(parsePasswd(passwd), [
        { user: "toor", uid: 0 },
        { user: "zr-agent", uid: 2000 },
        { user: "zr-p000", uid: 2100 },
      ]);
    });
  });

  describe("the nftables ruleset PID 1 lists", () => {
    it("summarises the input policy and the ports accepting rules open", () => {
      assert.deepEqual(firewallFromNftJson(NFT_LISTING), {
        inputPolicy: "drop",
        allowedTcpPorts: [8443, 9000],
        allowedUdpPorts: [53],
      });
      assert.deepEqual(firewallFromNftJson(withHandMadeRule())?.allowedTcpPorts, [2222, 8443, 9000]);
    });
    it("sees a hand-made table whose input chain accepts everything", () => {
      const open = {
        nftables: [
          ...NFT_LISTING.nftables,
          { chain: { family: "ip", table: "x", name: "in", hook: "input", policy: "accept" } },
        ],
      };
      assert.equal(firewallFromNftJson(open)?.inputPolicy, "accept");
    });
    it("bounds a port range a rule opens", () => {
      const range = {
        nftables: [
          NFT_LISTING.nftables[2],
          { rule: { family: "inet", table: "zeroroot", chain: "input", expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: { range: [1, 65535] } } }, { accept: null }] } },
        ],
      }; // prettier-ignore
      assert.equal(firewallFromNftJson(range)?.allowedTcpPorts.length, HOST_REPORT_LIMITS.firewallPorts);
    });
    it("gives one digest whatever the counters, handles and nft version, and another for a hand-made rule", () => {
      const base = nftablesDigest(NFT_LISTING);
      assert.match(base, /^sha256:[0-9a-f]{64}$/);
      const renumbered = JSON.parse(JSON.stringify(NFT_LISTING).replace(/"handle":(\d+)/g, '"handle":9$1'));
      renumbered.nftables[0].metainfo.version = "1.0.9";
      assert.equal(nftablesDigest(renumbered), base);
      assert.notEqual(nftablesDigest(withHandMadeRule()), base);
      assert.equal(nftablesDigest(withHandMadeRule(0)), nftablesDigest(withHandMadeRule(1234)));
    });
    it("refuses a listing that is too large or not the listing's shape before using it", () => {
      assert.equal(parseNftablesListing("x".repeat(HOST_REPORT_LIMITS.nftablesBytes + 1)).ok, false);
      assert.equal(parseNftablesListing("{").ok, false);
      assert.equal(parseNftablesListing('{"tables":[]}').ok, false);
      assert.equal(parseNftablesListing(JSON.stringify(NFT_LISTING)).ok, true);
    });
  });

  describe("observeHost over a host's files", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "zr-host-"));
      const proc = (pid: number, status: string, cmdline: string) => {
        mkdirSync(join(dir, "proc", String(pid)), { recursive: true });
        writeFileSync(join(dir, "proc", String(pid), "status"), status);
        writeFileSync(join(dir, "proc", String(pid), "cmdline"), cmdline);
        writeFileSync(
          join(dir, "proc", String(pid), "stat"),
          `${pid} (x) S 1 0 0 0 0 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 10`,
        );
      };
      proc(
        1,
        "Name:\tzr-init\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\n",
        "/usr/bin/python3\0-I\0/usr/local/sbin/zr-init\0",
      );
      proc(
        40,
        "Name:\tnode\nUid:\t2000\t2000\t2000\t2000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n",
        "/usr/bin/node\0agent.js\0",
      );
      proc(
        77,
        "Name:\tsleep\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\n",
        ["sleep", "600", ""].join("\0"),
      );
      mkdirSync(join(dir, "proc", "net"));
      writeFileSync(
        join(dir, "proc", "net", "tcp"),
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
          "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n" +
          "   1: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2100        0 2\n",
      );
      writeFileSync(
        join(dir, "passwd"),
        "root:x:0:0::/root:/usr/sbin/nologin\nzr-agent:x:2000:2000::/h:/usr/sbin/nologin\n",
      );
      writeFileSync(join(dir, "dpkg"), "Package: nftables\nStatus: install ok installed\n");
      writeFileSync(join(dir, "nft.json"), JSON.stringify(withHandMadeRule()));
      writeFileSync(join(dir, "nft.applied.json"), JSON.stringify(NFT_LISTING));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const files = () => ({
      procRoot: join(dir, "proc"),
      dpkgStatus: join(dir, "dpkg"),
      passwd: join(dir, "passwd"),
      nftLive: join(dir, "nft.json"),
      nftApplied: join(dir, "nft.applied.json"),
    });

    it("reports every process with uid, capabilities, no_new_privs, user and command", () => {
      const { host } = observeHost("dc1-s1", files());
      const byPid = new Map(host.processes?.map((p) => [p.pid, p]));
      assert.equal(byPid.get(77)?.uid, 0);
      assert.equal(byPid.get(77)?.command, "sleep 600");
      assert.equal(byPid.get(77)?.user, "root");
      assert.equal(byPid.get(77)?.capabilities.length, 41);
      assert.deepEqual(
        {
          uid: byPid.get(40)?.uid,
          user: byPid.get(40)?.user,
          caps: byPid.get(40)?.capabilities,
          nnp: byPid.get(40)?.noNewPrivileges,
        },
        { uid: 2000, user: "zr-agent", caps: [], nnp: true },
      );
    });
    it("reports listening sockets, packages, accounts and the live firewall", () => {
      const { host } = observeHost("dc1-s1", files());
      assert.deepEqual(host.listening, [
        { port: 22, protocol: "tcp" },
        { port: 8443, protocol: "tcp" },
      ]);
      assert.deepEqual(host.packages, ["nftables"]);
      assert.deepEqual(host.accounts, [{ user: "zr-agent", uid: 2000 }]);
      assert.deepEqual(host.firewall?.allowedTcpPorts, [2222, 8443, 9000]);
    });
    it("reports the live and applied ruleset digests, which differ after a hand-made rule", () => {
      const { nftables } = observeHost("dc1-s1", files());
      assert.equal(nftables.sha256, nftablesDigest(withHandMadeRule()));
      assert.equal(nftables.appliedSha256, nftablesDigest(NFT_LISTING));
      assert.notEqual(nftables.sha256, nftables.appliedSha256);
    });
    it("says why the ruleset is missing rather than reporting none", () => {
      const { nftables, host } = observeHost("dc1-s1", { ...files(), nftLive: join(dir, "absent.json") });
      assert.match(nftables.error ?? "", /PID 1 has written no ruleset listing at .*absent\.json/);
      assert.equal(nftables.sha256, undefined);
      assert.equal(host.firewall, undefined);
    });
    it("does not read a host file larger than its bound (a sparse 64 MiB listing costs nothing)", () => {
      const huge = join(dir, "huge.json");
      writeFileSync(huge, "");
      truncateSync(huge, 64 * 1024 * 1024);
      const { nftables } = observeHost("dc1-s1", { ...files(), nftLive: huge });
      assert.match(nftables.error ?? "", /no ruleset listing at .*huge\.json \(or it is over \d+ bytes\)/);
      assert.equal(nftables.sha256, undefined);
    });
  });
});
