/**
 * close() of the etcd3 control-plane client releases everything it opened: a process that used
 * it (get, put, a watch, a failover) and closed it exits by itself. This tier runs without mocha's
 * `exit: true`, so a leak here would also hold the test run open; the child process makes the leak
 * a failure with a message instead of a hang.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { startTestCluster, type TestCluster } from "./etcd-cluster";

/**
 * How long the child may take to exit once it has called close(). This asserts that it exits by
 * itself, not how fast: a leaked watch stream held it until the members stopped, a watch left
 * reconnecting held it for minutes. Bounded by what close() cannot reach: etcd3's one pending
 * reconnection timer (at most 3 s, client.ts) and its 1 s wait on a channel still connecting.
 */
const EXIT_BOUND_MS = 15_000;

interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next line the child prints on stdout; fails if it exits first. */
  line(): Promise<string>;
  say(line: string): void;
  stderr(): string;
}

function startChild(cluster: TestCluster): Child {
  // node itself with tsx's loader, not the tsx wrapper: the wrapper runs the program in a second
  // process, which a kill of the wrapper would leave running, holding this one's pipes open
  const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "close-child.ts")], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const pending: string[] = [];
  let waiting: ((l: string) => void) | undefined;
  let buffer = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buffer += d;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      pending.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
    if (waiting && pending.length) waiting(pending.shift()!);
  });
  const exited = new Promise<string>((r) => child.once("exit", (code, sig) => r(`exited (${code ?? sig})`)));
  const say = (l: string) => void child.stdin!.write(`${l}\n`);
  say(JSON.stringify({ endpoints: cluster.endpoints, identity: cluster.alice }));
  return {
    process: child,
    line: async () => {
      if (pending.length) return pending.shift()!;
      const next = new Promise<string>((r) => (waiting = r));
      const got = await Promise.race([next, exited.then((how) => `child ${how}: ${err}`)]);
      waiting = undefined;
      return got;
    },
    say,
    stderr: () => err,
  };
}

/** Fails unless the child exits with status 0 within EXIT_BOUND_MS; kills it if it does not. */
async function exitsByItself(child: Child): Promise<void> {
  const p = child.process;
  const exited = p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", r));
  const timer = setTimeout(() => p.kill("SIGKILL"), EXIT_BOUND_MS);
  await exited;
  clearTimeout(timer);
  assert.equal(
    p.signalCode,
    null,
    `still running ${EXIT_BOUND_MS} ms after close(), killed; its report: ${child.stderr()}`,
  );
  assert.equal(p.exitCode, 0, child.stderr());
}

describe("the etcd3 client's close() against a real three-member etcd", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  const children: Child[] = [];
  const child = () => {
    const c = startChild(cluster);
    children.push(c);
    return c;
  };

  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill("SIGKILL");
    await cluster?.stop();
  });

  it("lets the process exit by itself after a get, a watch and a failover, the other members still up", async () => {
    const c = child();
    assert.equal(await c.line(), "ready");
    await cluster.stopMember(0);
    await cluster.etcdctl(["put", "/t/close", "while away"]);
    c.say("failover");
    assert.equal(await c.line(), "closed");
    await exitsByItself(c);
  });

  it("lets the process exit by itself when no member answers any more (its watch reconnecting)", async () => {
    const c = child();
    assert.equal(await c.line(), "ready");
    await cluster.stop();
    c.say("close");
    assert.equal(await c.line(), "closed");
    await exitsByItself(c);
  });
});
