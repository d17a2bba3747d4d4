import { strict as assert } from "node:assert";
import {
  descendantsOf,
  parseDpkgStatus,
  parseNetSockets,
  parseStat,
  parseStatusUids,
} from "../../../lib/agent";
import { parseXmlRpc, SupervisorError } from "../../../agents/node/supervisor";

describe("agent: /proc, dpkg and XML-RPC parsing", () => {
  it("parses /proc/<pid>/stat with a command name holding spaces and parentheses", () => {
    const line =
      "4242 (evil) (x) R 17 4242 17 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 9000 1000000 321 18446744073709551615";
    assert.deepEqual(parseStat(line), {
      pid: 4242,
      comm: "evil) (x",
      state: "R",
      ppid: 17,
      cpuTicks: 300,
      startTicks: 9000,
      rssPages: 321,
    });
  });

  it("reads real and effective uids from status", () => {
    assert.deepEqual(parseStatusUids("Name:\tx\nUid:\t2100\t0\t0\t0\n"), { real: 2100, effective: 0 });
  });

  it("gives listening TCP sockets with their owner uid", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2100        0 1 1",
      "   1: 0100007F:0016 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
    ].join("\n");
    assert.deepEqual(parseNetSockets(text, "tcp"), [{ port: 8080, uid: 2100, protocol: "tcp" }]);
  });

  it("finds every descendant of a process", () => {
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 11],
      [13, 1],
    ]);
    assert.deepEqual([...descendantsOf(10, parents)].sort(), [11, 12]);
  });

  it("lists installed packages only", () => {
    const s =
      "Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n";
    assert.deepEqual([...parseDpkgStatus(s)], [["a", "1.0"]]);
  });

  it("parses supervisord's XML-RPC answers and faults", () => {
    const ok = `<?xml version='1.0'?><methodResponse><params><param><value><array><data><value><struct>
      <member><name>name</name><value><string>web</string></value></member>
      <member><name>pid</name><value><int>42</int></value></member>
      <member><name>x</name><value><boolean>1</boolean></value></member>
      <member><name>e</name><value><string></string></value></member>
      </struct></value></data></array></value></param></params></methodResponse>`;
    assert.deepEqual(parseXmlRpc(ok), [{ name: "web", pid: 42, x: true, e: "" }]);
    const fault = `<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int></value></member><member><name>faultString</name><value><string>BAD_NAME: a&lt;b</string></value></member></struct></value></fault></methodResponse>`;
    assert.throws(
      () => parseXmlRpc(fault),
      (e: unknown) => e instanceof SupervisorError && e.faultCode === 10 && /a<b/.test(e.message),
    );
  });
});
