/**
 * etcd3 (1.1.2) makes watches one at a time through a queue. When etcd refuses one as it is created
 * (a response both "created" and "canceled": permission denied, say), etcd3 reports the refusal to
 * that watcher but leaves it at the head of the queue, still being attached, so no later watch of the
 * same client is ever sent: each times out. A site's timestamp loop that watched a decommissioned
 * server's key (refused) stopped vouching for every other computer that way (seen in the lab, 2 Dec).
 *
 * This moves the queue on past the refused watcher. It reaches into etcd3's internals (the client's
 * `watchManager` and its `queue`), so it checks their shape first and changes nothing when they differ
 * (an etcd3 that reshaped or fixed them); test/integration/controlplane/clients.test.ts fails then.
 */
import type { Etcd3 } from "etcd3";

interface CreateResponse {
  readonly created?: boolean;
  readonly canceled?: boolean;
}

interface AttachQueue {
  queue: unknown[];
  dequeue(watcher: unknown): void;
  readQueue(): void;
}

interface WatchManager {
  queue?: AttachQueue;
  handleCreatedResponse(res: CreateResponse): void;
}

const isManager = (m: unknown): m is WatchManager =>
  typeof m === "object" && m !== null && typeof (m as WatchManager).handleCreatedResponse === "function";

const isQueue = (q: unknown): q is AttachQueue =>
  typeof q === "object" &&
  q !== null &&
  Array.isArray((q as AttachQueue).queue) &&
  typeof (q as AttachQueue).dequeue === "function" &&
  typeof (q as AttachQueue).readQueue === "function";

/** Returns whether the fix is in place (false: etcd3's internals are not the ones it knows). */
export function releaseRefusedWatches(etcd: Etcd3): boolean {
  const manager: unknown = (etcd as unknown as { watchManager?: unknown }).watchManager;
  if (!isManager(manager)) return false;
  const handle = manager.handleCreatedResponse.bind(manager);
  manager.handleCreatedResponse = (res: CreateResponse) => {
    // the watcher being attached is the queue's head: etcd answers one create request at a time
    const queue = res.canceled && isQueue(manager.queue) ? manager.queue : undefined;
    const refused = queue?.queue[0];
    handle(res);
    if (queue && refused !== undefined && queue.queue[0] === refused) {
      queue.dequeue(refused);
      queue.readQueue();
    }
  };
  return true;
}
