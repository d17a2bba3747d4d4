import { strict as assert } from "node:assert";
import { mariadbCertificateUsers } from "../../../lib/rules";
import {
  INIT_SQL,
  MY_CNF,
  mariadbManifest,
  pgManifest,
  runOnRelease,
  withTemplate,
} from "./datastore-fixtures";

const sql = (text: string) =>
  runOnRelease(mariadbCertificateUsers, mariadbManifest, withTemplate("etc/init.sql", text));
const ISSUER = "ISSUER '/CN=zeroroot example dc1 issuing CA'";

describe("rule mariadb-certificate-users", () => {
  it("passes users that require subject and issuer, and the local unix_socket account", () =>
    assert.deepEqual(sql(INIT_SQL), []));

  // Each hostile statement gives an account a password or a login without the right certificate.
  const refused: [string, string, RegExp][] = [
    ["a user with no REQUIRE", "CREATE USER 'bob'@'%';", /without REQUIRE SUBJECT/],
    [
      "a password",
      `CREATE USER bob@'%' IDENTIFIED BY 'hunter2' REQUIRE SUBJECT '/CN=bob' AND ${ISSUER};`,
      /IDENTIFIED BY/,
    ],
    [
      "a password hash",
      "CREATE USER bob IDENTIFIED BY PASSWORD '*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29' REQUIRE SUBJECT 'x' AND ISSUER 'y';",
      /IDENTIFIED BY/,
    ],
    [
      "a password plugin",
      `CREATE USER bob IDENTIFIED VIA ed25519 USING PASSWORD('x') REQUIRE SUBJECT 'x' AND ${ISSUER};`,
      /ed25519/,
    ],
    [
      "unix_socket OR a password",
      "CREATE USER bob IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('x');",
      /mysql_native_password/,
    ],
    ["REQUIRE SSL", "CREATE USER bob REQUIRE SSL;", /does not name the identity/],
    ["REQUIRE X509", "CREATE USER bob REQUIRE X509;", /does not name the identity/],
    ["SUBJECT without ISSUER", "CREATE USER bob REQUIRE SUBJECT '/CN=bob';", /does not name the identity/],
    ["REQUIRE NONE on an existing user", "ALTER USER alice REQUIRE NONE;", /REQUIRE NONE/],
    ["SET PASSWORD", "SET PASSWORD FOR alice = PASSWORD('x');", /SET PASSWORD/],
    ["a password given with GRANT", "GRANT ALL ON *.* TO bob IDENTIFIED BY 'x';", /IDENTIFIED BY/],
    ["an anonymous user", `CREATE USER ''@'localhost' REQUIRE SUBJECT 'x' AND ${ISSUER};`, /anonymous/],
    [
      "a direct write to the grant tables",
      "INSERT INTO mysql.global_priv VALUES ('%','bob','{}');",
      /grant tables/,
    ],
    ["lower case and tabs", "create\tuser\tbob@'%'\tidentified\tby 'x';", /IDENTIFIED BY/],
    ["a comment splitting keywords", "CREATE USER bob IDENTIFIED/* hidden */BY 'x';", /IDENTIFIED BY/],
    ["an executable comment (the server runs it)", "/*!CREATE USER bob*/;", /without REQUIRE SUBJECT/],
    ["a versioned executable comment", "/*M!100500 CREATE USER bob IDENTIFIED BY 'x' */;", /IDENTIFIED BY/],
    ["a statement over several lines", "CREATE USER\n  bob@'%'\n  IDENTIFIED BY\n  'x';", /IDENTIFIED BY/],
    [
      "a quoted ';' that does not end the statement",
      "CREATE USER 'a;b'@'%' IDENTIFIED BY 'x';",
      /IDENTIFIED BY/,
    ],
    ["OR REPLACE", "CREATE OR REPLACE USER bob;", /without REQUIRE SUBJECT/],
  ];
  for (const [title, text, reason] of refused)
    it(`fails on ${title}`, () => {
      const f = sql(`${INIT_SQL}${text}\n`);
      assert.equal(f.length >= 1, true, `no finding for: ${text}`);
      assert.ok(
        f.some((x) => reason.test(x.message)),
        f.map((x) => x.message).join("\n"),
      );
      assert.match(f[0].path ?? "", /^manifest\.configTemplates\[1\]:5$/);
    });

  it("does not read commented-out statements", () =>
    assert.deepEqual(
      sql("-- CREATE USER bob IDENTIFIED BY 'x';\n# SET PASSWORD = 'x';\n/* CREATE USER c; */"),
      [],
    ));
  it("does not take keywords inside strings for clauses", () =>
    assert.deepEqual(
      sql(`CREATE USER 'identified by'@'%' REQUIRE SUBJECT '/CN=identified by' AND ${ISSUER};`),
      [],
    ));
  it("fails on skip-grant-tables in a server option group", () => {
    const f = runOnRelease(
      mariadbCertificateUsers,
      mariadbManifest,
      withTemplate("etc/my.cnf", `${MY_CNF}skip-grant-tables\n`),
    );
    assert.equal(f.length, 1);
    assert.match(f[0].message, /skip-grant-tables/);
  });
  it("judges MariaDB releases only", () =>
    assert.deepEqual(
      runOnRelease(mariadbCertificateUsers, {
        ...pgManifest,
        configTemplates: [{ path: "init.sql", template: "CREATE USER x;" }],
      }),
      [],
    ));
});
