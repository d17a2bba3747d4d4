/**
 * What the lab hands supervisord and reads back from etcd: a program's argv survives supervisord's
 * command-line splitting and %-expansion whatever it holds, and etcd's 64-bit member ids are read
 * exactly (a JSON number would round them).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { parseEtcdJson } from "../../../lab/controlplane/status";
import { renderSupervisorConf, type SupervisedProgram } from "../../../lab/supervise";

const program = (argv: string[]): SupervisedProgram => ({
  name: "site-dc1",
  dir: "/srv/lab/sites/dc1/supervisor",
  uid: 2001,
  namespace: "zrh5-dc1-mgmt",
  argv,
  env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent", NOTE: 'say "100%"' },
  logFile: "/srv/lab/logs/site-dc1.log",
  cwd: "/srv/lab/sites/dc1",
});

const commandOf = (conf: string) => /^command=(.*)$/m.exec(conf)?.[1] ?? "";

/**
 * supervisord's own reading of each `command=`: %-expansion, then POSIX shlex splitting (Python),
 * all in one Python process (a start costs 0.1–0.3 s).
 */
function asSupervisordReads(commands: string[]): string[][] {
  const r = spawnSync(
    "python3",
    ["-c", "import json,shlex,sys; print(json.dumps([shlex.split(c % {}) for c in json.load(sys.stdin)]))"],
    { input: JSON.stringify(commands), encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

describe("lab supervision: what supervisord is given (lab/supervise)", () => {
  const cases: [string, string[]][] = [
    ["plain words", ["/usr/bin/node", "--import", "/repo/loader.mjs", "main.ts", "serve"]],
    ["a space in a path", ["/usr/bin/etcd", "--data-dir=/srv/my lab/data"]],
    ["single and double quotes", ["echo", "it's", 'say "hi"']],
    ["percent signs (supervisord expands %(x)s)", ["printf", "%(here)s 100%"]],
    ["shell metacharacters stay literal", ["echo", "$(id)", "`id`", ";", "|", "&&", "*"]],
    ["an empty argument", ["prog", ""]],
  ];
  let read: string[][] = [];
  before(() => {
    read = asSupervisordReads(cases.map(([, argv]) => commandOf(renderSupervisorConf(program(argv)))));
  });
  cases.forEach(([what, argv], i) =>
    it(`passes argv through unchanged: ${what}`, () => {
      assert.deepEqual(read[i], argv);
    }),
  );

  it("refuses an argument that spans lines (it would add configuration)", () => {
    assert.throws(() => renderSupervisorConf(program(["prog", "x\n[program:evil]"])), /spans lines/);
  });

  it("keeps the socket to its user (0700), restarts on death, and bounds failed starts", () => {
    const conf = renderSupervisorConf({ ...program(["prog"]), startSecs: 10, startRetries: 5 });
    for (const line of [
      "chmod=0700",
      "autorestart=true",
      "startsecs=10",
      "startretries=5",
      "killasgroup=true",
      `file=/srv/lab/sites/dc1/supervisor/supervisor.sock`,
    ])
      assert.ok(conf.split("\n").includes(line), `${line} in\n${conf}`);
    assert.match(conf, /^environment=.*NOTE="say \\"100%%\\""/m);
    assert.doesNotMatch(conf, /^user=/m, "no user switch: it runs as the user that starts it");
  });
});

describe("reading etcd's JSON (lab/controlplane/status)", () => {
  it("keeps 64-bit ids exact", () => {
    const text =
      '[{"Endpoint":"https://etcd.dc1.zeroroot.test:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":10276657743932975437,"revision":8,"raft_term":2},"leader":10276657743932975437}}]';
    const [s] = parseEtcdJson<{ Status: { header: { member_id: string }; leader: string } }[]>(text);
    assert.equal(s.Status.header.member_id, "10276657743932975437");
    assert.equal(s.Status.leader, "10276657743932975437");
    assert.notEqual(
      String(JSON.parse(text)[0].Status.leader),
      "10276657743932975437",
      "JSON.parse rounds it",
    );
  });

  it("reads member lists the same way", () => {
    const m = parseEtcdJson<{ members: { ID: string; name: string }[] }>(
      '{"header":{"cluster_id":1},"members":[{"ID":9372538179322589801,"name":"dc2","peerURLs":[]}]}',
    );
    assert.deepEqual(
      m.members.map((x) => [x.ID, x.name]),
      [["9372538179322589801", "dc2"]],
    );
  });
});
