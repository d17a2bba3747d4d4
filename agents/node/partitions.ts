/**
 * A partition's supervisord runs only while the partition holds an instance: the agent, which has no
 * privilege, asks PID 1 to start it before the first program is rendered there and to stop it once
 * the partition is wiped (agents/init/init_requests.py validates each request). When PID 1 has no
 * request socket (an image whose PID 1 starts every supervisord itself, or the agent's lab fixture),
 * every partition's supervisord is taken as already running.
 */
import { connect } from "node:net";
import { Supervisor } from "./supervisor";

/** Longest answer read from PID 1 (a `list` of 1,000 partitions is ~8 KB). */
const MAX_ANSWER_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 5000;
/** How long a supervisord may take to answer after PID 1 started it (Python start on a busy node). */
const SUPERVISORD_START_MS = 30_000;

export class InitRequestError extends Error {}

/** One request line to PID 1, its one-line answer; undefined when PID 1 has no request socket. */
export function askInit(socketPath: string, line: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let bytes = 0;
    const fail = (msg: string) => {
      sock.destroy();
      reject(new InitRequestError(`PID 1 (${socketPath}): ${line}: ${msg}`));
    };
    sock.setTimeout(REQUEST_TIMEOUT_MS, () => fail("no answer in time"));
    sock.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "ENOENT" ? resolve(undefined) : fail(e.message),
    );
    sock.on("connect", () => sock.end(`${line}\n`));
    sock.on("data", (c: Buffer) => {
      bytes += c.length;
      if (bytes > MAX_ANSWER_BYTES) return fail(`answer longer than ${MAX_ANSWER_BYTES} bytes`);
      chunks.push(c);
    });
    sock.on("end", () => resolve(Buffer.concat(chunks).toString("utf8").trimEnd()));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the supervisord on `socket` answers and is RUNNING (not starting, not shutting down). */
async function supervisordRunning(socket: string): Promise<boolean> {
  try {
    const s = (await new Supervisor(socket, 2000).call("supervisor.getState")) as { statename?: string };
    return s.statename === "RUNNING";
  } catch {
    return false;
  }
}

export class PartitionSupervisors {
  /** Partitions whose supervisord PID 1 started at this agent's request and has not stopped since. */
  private readonly up = new Set<string>();

  constructor(
    private readonly initSocket: string,
    private readonly socketOf: (user: string) => string,
    private readonly log: (msg: string) => void,
  ) {}

  /** Has PID 1 start the partition's supervisord (once per agent run) and waits until it answers. */
  async ensureUp(user: string): Promise<void> {
    if (this.up.has(user)) return;
    await this.waitUp(user, await this.askStart(user));
  }

  /**
   * ensureUp for many partitions at once (a deployment of many instances): the requests one after
   * the other, then the supervisords' starts waited for together rather than one by one. A failure
   * is only logged here: ensureUp, before the partition is used, asks again and says why.
   */
  async ensureUpAll(users: Iterable<string>): Promise<void> {
    const asked: [string, string | undefined][] = [];
    for (const user of new Set(users))
      if (!this.up.has(user)) {
        try {
          asked.push([user, await this.askStart(user)]);
        } catch (e) {
          this.log(`partition ${user}: ${(e as Error).message}`);
        }
      }
    await Promise.all(
      asked.map(([user, answer]) =>
        this.waitUp(user, answer).catch((e: unknown) =>
          this.log(`partition ${user}: ${(e as Error).message}`),
        ),
      ),
    );
  }

  private async askStart(user: string): Promise<string | undefined> {
    const answer = await askInit(this.initSocket, `start ${user}`);
    if (answer !== undefined && !answer.startsWith("ok "))
      throw new InitRequestError(`PID 1 did not start the supervisord of ${user}: ${answer}`);
    return answer;
  }

  private async waitUp(user: string, answer: string | undefined): Promise<void> {
    if (answer !== undefined) {
      const deadline = Date.now() + SUPERVISORD_START_MS;
      while (!(await supervisordRunning(this.socketOf(user)))) {
        if (Date.now() > deadline)
          throw new InitRequestError(
            `the supervisord of ${user} does not answer ${SUPERVISORD_START_MS / 1000} s after PID 1 said "${answer}"`,
          );
        await sleep(100);
      }
      if (!answer.startsWith("ok running")) this.log(`partition ${user}: supervisord started (${answer})`);
    }
    this.up.add(user);
  }

  /** Has PID 1 stop the (emptied) partition's supervisord and waits until it is gone. */
  async release(user: string): Promise<void> {
    this.up.delete(user);
    const answer = await askInit(this.initSocket, `stop ${user}`);
    if (answer === undefined) return;
    if (!answer.startsWith("ok "))
      throw new InitRequestError(`PID 1 did not stop the supervisord of ${user}: ${answer}`);
    const deadline = Date.now() + SUPERVISORD_START_MS;
    while ((await supervisordRunning(this.socketOf(user))) && Date.now() < deadline) await sleep(100);
    this.log(`partition ${user}: empty, supervisord stopped (${answer})`);
  }

  /** At start: stops the supervisords of partitions that hold no instance (a stop the agent missed). */
  async sweep(holding: ReadonlySet<string>): Promise<void> {
    const answer = await askInit(this.initSocket, "list");
    if (answer === undefined) return;
    if (!answer.startsWith("ok running")) throw new InitRequestError(`PID 1 did not list: ${answer}`);
    for (const user of answer.slice("ok running".length).trim().split(" ").filter(Boolean))
      if (!holding.has(user)) await this.release(user);
  }
}
