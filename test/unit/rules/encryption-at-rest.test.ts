import { strict as assert } from "node:assert";
import { datastoresViewOfDesiredState, encryptionAtRest, runRule } from "../../../lib/rules";
import { record } from "./fixtures";
import { MY_CNF, mariadbManifest, pgManifest, runOnRelease, withTemplate } from "./datastore-fixtures";

const cnf = (text: string) =>
  runOnRelease(encryptionAtRest, mariadbManifest, withTemplate("etc/my.cnf", text));
const KEYS = "plugin_load_add = file_key_management\n";

describe("rule encryption-at-rest", () => {
  it("passes a data-holding MariaDB with key management, encrypted tables and redo log", () =>
    assert.deepEqual(cnf(MY_CNF), []));

  const accepted: [string, string][] = [
    [
      "dashes, loose- prefixes and FORCE",
      "[mysqld]\nloose-plugin-load-add=file_key_management.so\ninnodb-encrypt-tables=FORCE\ninnodb_encrypt_log=1\n",
    ],
    [
      "bare flags and quoted values",
      `[server]\nplugin_load_add = "file_key_management"\ninnodb_encrypt_tables\nenable-innodb-encrypt-log\n`,
    ],
    [
      "a versioned group and a trailing comment",
      `[mariadb-10.11]\n${KEYS}innodb_encrypt_tables = ON # all tables\ninnodb_encrypt_log = ON\n`,
    ],
  ];
  for (const [title, text] of accepted) it(`accepts ${title}`, () => assert.deepEqual(cnf(text), []));

  const refused: [string, string, RegExp][] = [
    [
      "no key management plugin",
      "[mariadbd]\ninnodb_encrypt_tables=ON\ninnodb_encrypt_log=ON\n",
      /key management plugin/,
    ],
    [
      "tables not encrypted",
      `[mariadbd]\n${KEYS}innodb_encrypt_log=ON\n`,
      /innodb_encrypt_tables = ON \(found "nothing"\)/,
    ],
    ["redo log not encrypted", `[mariadbd]\n${KEYS}innodb_encrypt_tables=ON\n`, /innodb_encrypt_log/],
    ["OFF", `[mariadbd]\n${KEYS}innodb_encrypt_tables=OFF\ninnodb_encrypt_log=ON\n`, /found "OFF"/],
    [
      "a later setting turning it off",
      `${MY_CNF}innodb_encrypt_log = 0\n`,
      /innodb_encrypt_log = ON \(found "0"\)/,
    ],
    ["skip- negation", `${MY_CNF}skip-innodb-encrypt-tables\n`, /innodb_encrypt_tables/],
    [
      "settings in a client group",
      `[client]\n${KEYS}innodb_encrypt_tables=ON\ninnodb_encrypt_log=ON\n`,
      /key management/,
    ],
    ["settings commented out", `[mariadbd]\n# ${KEYS}; innodb_encrypt_tables=ON\n`, /key management/],
    [
      "upper case OFF with tabs",
      `[MARIADBD]\n${KEYS}INNODB_ENCRYPT_TABLES\t=\tOFF\ninnodb_encrypt_log=ON\n`,
      /found "OFF"/,
    ],
  ];
  for (const [title, text, reason] of refused)
    it(`fails on ${title}`, () => {
      const f = cnf(text);
      assert.equal(f.length, 1, JSON.stringify(f));
      assert.match(f[0].message, reason);
    });

  it("fails on a data-holding MariaDB release without any option file", () => {
    const f = runOnRelease(encryptionAtRest, mariadbManifest, (m) => (m.configTemplates = []));
    assert.equal(f.length, 1);
  });
  it("does not judge a MariaDB that holds no data", () =>
    assert.deepEqual(
      runOnRelease(encryptionAtRest, mariadbManifest, (m) => {
        m.holdsData = false;
        m.configTemplates = [];
      }),
      [],
    ));
  it("exempts PostgreSQL 15, which has no transparent data encryption (docs/storage.md)", () =>
    assert.deepEqual(runOnRelease(encryptionAtRest, pgManifest), []));
  it("leaves a desired state to its release (it carries no configuration)", () => {
    const ds = {
      instances: [{ name: "mariadb", release: { name: "mariadb" }, holdsData: true, endpoints: [] }],
    };
    assert.deepEqual(
      runRule(encryptionAtRest, datastoresViewOfDesiredState(record("DesiredState", "s", ds))),
      [],
    );
  });
});
