/**
 * What PID 1 puts on its supervisords' path (agents/init/pyshim): Debian's /usr/bin/supervisord
 * still finds its main() through the importlib.metadata stand-in, OpenSSL stays out of the
 * process (ssl and _hashlib blocked, sha1 still right), the variable never reaches the programs, and
 * the process looks as before (`python3 /usr/bin/supervisord`, what the agent's lab and `lab status`
 * recognise). Real python3 and supervisord from Debian, a supervisord run as a partition uid.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { partitionName, partitionPaths, partitionUid } from "../../../lib/hardening";
import { makePartitions } from "../../lab/agent/node-fixture";
import { waitFor } from "../../lab/agent/helpers";
import { stopProcess } from "../../helpers/stop-process";

const PYSHIM = path.join(__dirname, "..", "..", "..", "agents", "init", "pyshim");
const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/bin/supervisord");

/** Runs `code` in python3 started as PID 1 starts supervisord (site on, the pyshim on PYTHONPATH). */
function py(code: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync("/usr/bin/python3", ["-c", code], {
    encoding: "utf8",
    timeout: 20_000,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONPATH: PYSHIM },
  });
}

describe("agents/init/pyshim: what a partition's supervisord runs first", function () {
  before(function () {
    if (!fs.existsSync("/usr/bin/supervisord")) this.skip();
  });

  it("resolves supervisord's console script to supervisor.supervisord.main, as importlib.metadata would", () => {
    const r = py(
      "from importlib.metadata import distribution\n" +
        "import importlib.metadata as m, supervisor.supervisord as s\n" +
        "eps = [e for e in distribution('supervisor').entry_points if e.group == 'console_scripts' and e.name == 'supervisord']\n" +
        "print(len(eps), eps[0].load() is s.main, 'stand-in' in (m.__doc__ or ''))",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "1 True True");
  });

  it("answers PackageNotFoundError for a distribution that is not installed", () => {
    const r = py(
      "import importlib.metadata as m\ntry:\n m.distribution('no-such-dist-zeroroot')\nexcept m.PackageNotFoundError as e:\n print('refused', e)",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "refused no-such-dist-zeroroot");
  });

  it("blocks ssl and _hashlib, while http.client, xmlrpc.client and sha1 keep working", () => {
    const r = py(
      "import hashlib, http.client, xmlrpc.client, sys\n" +
        "try:\n import ssl\n print('ssl imported')\nexcept ImportError:\n print('no ssl')\n" +
        "print(hashlib.sha1(b'abc').hexdigest(), hasattr(http.client, 'HTTPSConnection'), '_hashlib' in sys.modules and sys.modules['_hashlib'] is not None)",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "no ssl",
      "a9993e364706816aba3e25717850c26c9cd0d89d False False",
    ]);
  });

  it("removes PYTHONPATH from its own environment at start", () => {
    const r = py("import os\nprint(repr(os.environ.get('PYTHONPATH')))");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "None");
  });
});

describe("a partition's supervisord started with the pyshim, as PID 1 starts it", function () {
  let root: string;
  let sup: ChildProcess | undefined;
  const index = 0;
  const uid = partitionUid(index);

  before(function () {
    if (!canRun) this.skip();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "zr-pyshim-"));
    fs.chmodSync(root, 0o755);
    makePartitions(root, 1);
  });

  after(async () => {
    if (sup) await stopProcess(sup, 15_000);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("runs its program without OpenSSL mapped and without PYTHONPATH in the program's environment", async () => {
    const p = partitionPaths(partitionName(index), root);
    const program = path.join(p.supervisorDir, "conf.d", "main.conf");
    fs.writeFileSync(program, "[program:main]\ncommand=/bin/sleep 99999.77\n");
    fs.chownSync(program, uid, uid);
    sup = spawn(
      "setpriv",
      [
        ...[`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--"],
        ...["/usr/bin/supervisord", "--nodaemon", "--configuration", `${p.supervisorDir}/supervisord.conf`],
      ],
      { stdio: "ignore", cwd: p.home, env: { PATH: "/usr/bin:/bin", HOME: p.home, PYTHONPATH: PYSHIM } },
    );
    const pid = sup.pid as number;
    const child = await waitFor(
      () => {
        const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
        if (!kids) return undefined;
        // A forked child is a copy of supervisord until its exec: wait for the exec (another
        // executable), then judge what it runs.
        const kid = Number(kids.split(" ")[0]);
        const exe = (of: number) => fs.readlinkSync(`/proc/${of}/exe`);
        return exe(kid) !== exe(pid) ? kid : undefined;
      },
      30_000,
      "supervisord's program",
      100,
    );
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    assert.ok(cmdline.startsWith("/usr/bin/python3 /usr/bin/supervisord --nodaemon"), cmdline);
    assert.equal(fs.readFileSync(`/proc/${child}/cmdline`, "utf8"), "/bin/sleep\x0099999.77\x00");
    const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
    assert.doesNotMatch(maps, /lib(ssl|crypto)\.so/);
    const env = fs.readFileSync(`/proc/${child}/environ`, "utf8").split("\0");
    assert.equal(
      env.find((v) => v.startsWith("PYTHONPATH=")),
      undefined,
    );
    assert.ok(env.includes("SUPERVISOR_PROCESS_NAME=main"), env.join(" "));
  });
});
