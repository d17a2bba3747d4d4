import { strict as assert } from "node:assert";
import { UNKNOWN, datastoresViewFromObserved, pgHbaCertOnly, runRule } from "../../../lib/rules";
import { PG_HBA, mariadbManifest, pgManifest, runOnRelease, withTemplate } from "./datastore-fixtures";

const hba = (text: string) => runOnRelease(pgHbaCertOnly, pgManifest, withTemplate("etc/pg_hba.conf", text));

describe("rule pg-hba-cert-only", () => {
  it("passes a pg_hba of hostssl cert and local peer lines, comments and blank lines", () =>
    assert.deepEqual(hba(PG_HBA), []));

  // Each hostile template holds one line that lets a client in without a certificate; the finding
  // must name the line the record starts on.
  const refused: [string, string, number, RegExp][] = [
    ["a password line", "hostssl all all 0.0.0.0/0 password", 1, /method "password"/],
    ["trust over TLS", "hostssl all all 0.0.0.0/0 trust", 1, /method "trust"/],
    ["md5", "# ok\nhostssl all all ::/0 md5", 2, /method "md5"/],
    ["scram-sha-256", "hostssl all all 10.0.0.0/8 scram-sha-256", 1, /scram-sha-256/],
    ["ident", "hostssl all all 10.0.0.0/8 ident", 1, /"ident"/],
    ["a plain host line, even with cert", "host all all 0.0.0.0/0 cert", 1, /connection type "host"/],
    ["hostnossl", "hostnossl all all 0.0.0.0/0 reject", 1, /"hostnossl"/],
    ["hostgssenc", "hostgssenc all all 0.0.0.0/0 gss", 1, /"hostgssenc"/],
    ["local trust", "local all all trust", 1, /method "trust" on a local line/],
    ["upper case", "HOSTSSL ALL ALL 0.0.0.0/0 TRUST", 1, /"TRUST"/],
    ["tabs between fields", "hostssl\tall\tall\t0.0.0.0/0\t\tmd5", 1, /"md5"/],
    ["a quoted method", 'hostssl all all 0.0.0.0/0 "trust"', 1, /"trust"/],
    ["an address with a separate mask", "hostssl all all 10.0.0.0 255.0.0.0 password", 1, /"password"/],
    [
      "an IPv6 address with a separate mask",
      "hostssl all all ::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff md5",
      1,
      /method "md5"/,
    ],
    ["a trailing comment hiding nothing", "hostssl all all 0.0.0.0/0 md5 # cert", 1, /"md5"/],
    ["a continued record", "hostssl all all \\\n  0.0.0.0/0 \\\n  password", 1, /"password"/],
    ["a quoted # that is not a comment", 'hostssl "a#b" all 0.0.0.0/0 md5', 1, /"md5"/],
    ["CRLF line ends", "local all all peer\r\nhostssl all all ::/0 trust\r\n", 2, /"trust"/],
    ["clientcert weakened", "hostssl all all ::/0 cert clientcert=verify-ca", 1, /verify-ca/],
    ["an include", "include_if_exists other.conf", 1, /pulls in another file/],
    ["a line with no method", "hostssl all all 0.0.0.0/0", 1, /no authentication method/],
  ];
  for (const [title, text, line, reason] of refused)
    it(`fails on ${title}`, () => {
      const f = hba(`${PG_HBA}${text}`);
      const at = PG_HBA.split("\n").length - 1 + line;
      assert.equal(f.length, 1, JSON.stringify(f));
      assert.match(f[0].message, reason);
      assert.match(f[0].message, new RegExp(`line ${at}:`));
      assert.equal(f[0].path, `manifest.configTemplates[1]:${at}`);
    });

  it("reports each offending line of one file", () =>
    assert.equal(hba("host all all ::/0 md5\nhostssl all all ::/0 trust\nlocal all all password").length, 3));
  it("does not read a '#' inside quotes as a comment start, nor a commented-out line as a record", () =>
    assert.deepEqual(hba('# host all all 0.0.0.0/0 trust\nhostssl "x#" all ::/0 cert'), []));
  it("judges only PostgreSQL releases' hba files", () => {
    const m = {
      ...mariadbManifest,
      configTemplates: [{ path: "etc/pg_hba.conf", template: "host all all ::/0 trust" }],
    };
    assert.deepEqual(runOnRelease(pgHbaCertOnly, m), []);
  });
  it("reports nothing for a template unknown at preview", () =>
    assert.deepEqual(hba(UNKNOWN as unknown as string), []));
  it("judges a live host's rendered pg_hba.conf the same way (drift)", () => {
    const v = datastoresViewFromObserved("dc1-s01", [
      {
        name: "postgresql",
        engine: "postgresql",
        configFiles: [{ file: "/srv/p001/etc/pg_hba.conf", text: "host all all 0.0.0.0/0 md5" }],
      },
    ]);
    const f = runRule(pgHbaCertOnly, v);
    assert.equal(f.length, 1);
    assert.equal(f[0].ref, "dc1-s01");
    assert.equal(f[0].path, "datastores[0].configFiles[0]:1");
  });
});
