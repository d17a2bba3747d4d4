/**
 * The agent lab's computer gets its own process table, as a server has: a PID namespace with its own
 * /proc (and a mount namespace to hold it) inside the computer's network namespace. The agent, the
 * partitions' supervisords and any process a test injects are started inside it with `nsenter`, so
 * the agent's /proc scan sees this computer's processes only. Without it, the agent on the host's
 * /proc counted every process of the host with a partition's uid (another lab's zr-p000, say) as
 * its partition's, which skewed the CPU baseline it learns.
 *
 * With the image's PID 1 (AgentLab init mode) the namespaces are PID 1's (zr-init mounts the /proc);
 * otherwise a small reaper is PID 1 of a namespace made here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { sleep, waitFor } from "./helpers";

/** PID 1 of a computer without the image's PID 1: reaps orphans so no zombie lingers in the scan. */
const REAPER =
  "import os, time\nwhile True:\n    try:\n        os.wait()\n    except ChildProcessError:\n        time.sleep(1)\n";

/** The host pids of a process's children, oldest first (none once it exited). */
export function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return kids ? kids.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

export interface NodeNamespaces {
  /** `unshare`, whose only child is the namespace's PID 1. */
  readonly child: ChildProcess;
  /** Host pid of the namespace's PID 1. */
  readonly pid1: number;
}

/** A PID and mount namespace with a fresh /proc, in network namespace `namespace`. */
export async function startNodeNamespaces(namespace: string): Promise<NodeNamespaces> {
  const child = spawn(
    "ip",
    [
      ...["netns", "exec", namespace, "unshare", "--pid", "--fork", "--mount", "--propagation", "private"],
      ...["--mount-proc", "/usr/bin/python3", "-I", "-c", REAPER],
    ],
    { stdio: "ignore", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" } },
  );
  // ready once unshare's child has exec'd python (after unshare mounted the new /proc)
  const pid1 = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`unshare exited with ${child.exitCode}`);
      const kid = childrenOf(child.pid)[0];
      return kid && fs.readlinkSync(`/proc/${kid}/exe`).includes("python3") ? kid : undefined;
    },
    10_000,
    "the computer's PID namespace",
    50,
  );
  return { child, pid1 };
}

/** Kills the namespace's PID 1, which ends every process in it. */
export async function stopNodeNamespaces(n: NodeNamespaces | undefined): Promise<void> {
  if (!n || n.child.exitCode !== null) return;
  const done = new Promise((r) => n.child.once("exit", r));
  try {
    process.kill(n.pid1, "SIGKILL");
  } catch {
    // already gone
  }
  await Promise.race([done, sleep(5000)]);
}

/** argv prefix that runs a command in the computer's PID, mount and network namespaces. */
export function enterNode(pid1: number, workDir = "/"): string[] {
  return ["nsenter", `--target=${pid1}`, "--pid", "--mount", "--net", `--wd=${workDir}`, "--"];
}

/**
 * The host pid of what `nsenter` started (nsenter forks to enter a PID namespace and waits for its
 * child; it forwards no signal, so signals go to this pid).
 */
export function enteredPid(c: ChildProcess): number | undefined {
  return childrenOf(c.pid)[0];
}

/** The pid a process has inside its own PID namespace (the last NSpid field). */
export function pidInNamespace(hostPid: number): number {
  const line = /^NSpid:\s+(.+)$/m.exec(fs.readFileSync(`/proc/${hostPid}/status`, "utf8"))?.[1];
  const ids = (line ?? "").trim().split(/\s+/).map(Number);
  const last = ids[ids.length - 1];
  if (!Number.isInteger(last) || last <= 0) throw new Error(`no NSpid for host pid ${hostPid}`);
  return last;
}
