/**
 * The Galera service's `jobIssuers` parameter (the site CA DNs whose job certificates a member
 * accepts, the ISSUER of every job account) judged twice: by the stack (lib/datastores/
 * mariadb-galera.ts `galeraParameters`) and by the member that reads it back (lab/releases/
 * mariadb-galera/galera_conf.py, galera.conf's `job-issuers`). Valid values: both accept, and the
 * member reads exactly what the stack wrote. Hostile values (sizes, counts, SQL's quote, backslash,
 * NUL, newline, repeats, names of other CAs, unknown DN syntax): both refuse, naming the key and
 * showing the value escaped. A row without a stack side is one the stack cannot even express (a
 * data center twice): the member must refuse it alone. One python3 run judges the whole table.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import {
  GALERA_LIMITS,
  galeraParameters,
  type GaleraParametersInput,
} from "../../../lib/datastores/mariadb-galera";

const RELEASE_PATH = ["lab/releases/mariadb-galera", "agents/datastores", "agents/crl"].map((d) =>
  join(__dirname, "../../..", d),
);
const USER_DC1 = "/O=zeroroot/CN=dc1.zeroroot.test issuing CA";
const site = (dc: string) => `/O=zeroroot/CN=zeroroot issuing CA ${dc}`;
const GOOD: GaleraParametersInput = {
  cluster: "zeroroot",
  peers: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  bootstrap: "10.0.1.10",
  userIssuers: { dc1: USER_DC1, dc2: "/O=zeroroot/CN=dc2.zeroroot.test issuing CA" },
};
const JOB_LINE = 10; // job-issuers' line in galeraConf

/** galera.conf as the release's template renders it, with `jobIssuers` as given (unchecked). */
function galeraConf(jobIssuers: string): string {
  const p = galeraParameters(GOOD);
  return [
    "# mariadb-galera galera: rendered by the node agent from the service's parameters; do not edit.",
    `cluster = ${p.cluster}`,
    `peers = ${p.peers}`,
    `bootstrap = ${p.bootstrap}`,
    "sql-port = 3306",
    "galera-port = 4567",
    "ist-port = 4568",
    "sst-port = 4444",
    `user-issuers = ${p.userIssuers}`,
    `job-issuers = ${jobIssuers}`,
    "",
  ].join("\n");
}

/** How the stack would write a record if it did not judge it. */
const rendered = (issuers: Record<string, string>) =>
  Object.entries(issuers)
    .map(([dc, dn]) => `${dc} ${dn}`)
    .join("; ");

type Judgement = { ok: true; issuers: Record<string, string> } | { ok: false; error: string };

function onMember(values: string[]): Judgement[] {
  const py = `import json, sys
sys.path[:0] = ${JSON.stringify(RELEASE_PATH)}
from galera_conf import ConfError, parse_conf
out = []
for text in json.load(sys.stdin):
    try:
        out.append({"ok": True, "issuers": parse_conf(text, "etc/galera.conf")["job-issuers"]})
    except ConfError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))`;
  const r = spawnSync("python3", ["-B", "-c", py], {
    input: JSON.stringify(values.map(galeraConf)),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Judgement[];
}

function onStack(jobIssuers: Record<string, string>): Judgement {
  try {
    const text = galeraParameters({ ...GOOD, jobIssuers }).jobIssuers;
    return {
      ok: true,
      issuers: Object.fromEntries(text ? text.split("; ").map((e) => e.split(/ (.*)/s, 2)) : []),
    };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** A raw control character (C0 or DEL): what an escaped message never holds. */
const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

const dcs = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`dc${i}`, site(`dc${i}`)]));

const VALID: [string, Record<string, string>][] = [
  ["none (no data center's jobs are admitted)", {}],
  ["one worker data center", { dc2: site("dc2") }],
  ["three data centers", { dc1: site("dc1"), dc2: site("dc2"), dc3: site("dc3") }],
  [`${GALERA_LIMITS.issuers} data centers, the bound`, dcs(GALERA_LIMITS.issuers)],
  ["a DN of 8 parts of 128 characters", { dc2: `/O=${"a".repeat(128)}`.repeat(8) }],
];

/** [what, the member's job-issuers value, the same through the stack (undefined: it cannot express it)]. */
type Row = [string, string, Record<string, string> | undefined];
const hostile = (what: string, issuers: Record<string, string>): Row => [what, rendered(issuers), issuers];
const HOSTILE: Row[] = [
  hostile("a DN part over 128 characters", { dc2: `/O=zeroroot/CN=${"a".repeat(129)}` }),
  hostile("a DN of 9 parts", { dc2: "/O=a".repeat(9) }),
  hostile("a DN over the file's 64 KiB", { dc2: `/CN=${"a".repeat(70_000)}` }),
  hostile("SQL's quote", { dc2: "/CN=x' OR '1'='1" }),
  hostile("a backslash escaping the closing quote", { dc2: "/CN=x\\" }),
  hostile("a NUL", { dc2: "/CN=x\u0000y" }),
  hostile("a newline that writes another setting", { dc2: "/CN=a\nuser-issuers = dc9 /CN=b" }),
  hostile("a carriage return", { dc2: "/CN=a\rb" }),
  hostile("a percent (a LIKE pattern)", { dc2: "/CN=%" }),
  hostile("a backtick", { dc2: "/CN=`x`" }),
  hostile("a non-ASCII letter", { dc2: "/CN=zéroroot" }),
  hostile("one DN for two data centers", { dc1: site("dc1"), dc2: site("dc1") }),
  hostile("a user CA's DN as a site CA", { dc1: USER_DC1 }),
  hostile(`${GALERA_LIMITS.issuers + 1} entries`, dcs(GALERA_LIMITS.issuers + 1)),
  hostile("RFC 4514 syntax", { dc2: "CN=zeroroot issuing CA dc2,O=zeroroot" }),
  hostile("an empty value", { dc2: "/CN=" }),
  hostile("an empty key", { dc2: "/=x" }),
  hostile("a space in a key", { dc2: "/C N=x" }),
  hostile("a trailing slash", { dc2: `${site("dc2")}/` }),
  hostile("no DN", { dc2: "" }),
  hostile("an upper-case data center", { DC2: site("dc2") }),
  hostile("a data center id with a quote", { "dc2'": site("dc2") }),
  ["a data center twice", `dc2 ${site("dc2")}; dc2 ${site("dc3")}`, undefined],
  ["a data center with no DN after a separator", `dc2 ${site("dc2")}; dc3`, undefined],
];

describe("galera jobIssuers: the stack and the member judge it alike", () => {
  const member = onMember([...VALID.map(([, i]) => rendered(i)), ...HOSTILE.map(([, text]) => text)]);

  VALID.forEach(([what, issuers], n) =>
    it(`both accept ${what}, and the member reads what the stack wrote`, () => {
      const stack = onStack(issuers);
      assert.deepEqual(stack, { ok: true, issuers });
      assert.deepEqual(member[n], { ok: true, issuers });
    }),
  );

  HOSTILE.forEach(([what, , issuers], n) =>
    it(`both refuse ${what}, naming the key`, () => {
      const m = member[VALID.length + n];
      assert.equal(m.ok, false, `the member accepted ${JSON.stringify(m)}`);
      const error = (m as { error: string }).error;
      // The key's line, or (a newline that writes another setting) the setting it collides with.
      assert.match(
        error,
        new RegExp(`^etc/galera\\.conf(:${JOB_LINE}: job-issuers|:\\d+: user-issuers|: larger than)`),
      );
      assert.ok(!hasControl(error), "escaped: no raw control character");
      assert.ok(error.length < 400, `bounded: ${error.length} characters`);
      if (issuers === undefined) return;
      const s = onStack(issuers);
      assert.equal(s.ok, false, `the stack accepted ${JSON.stringify(s)}`);
      const stackError = (s as { error: string }).error;
      assert.match(stackError, /^mariadb-galera parameters\.jobIssuers/);
      assert.ok(!hasControl(stackError), "escaped: no raw control character");
      assert.ok(stackError.length < 400, `bounded: ${stackError.length} characters`);
    }),
  );
});
