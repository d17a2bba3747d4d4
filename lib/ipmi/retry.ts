export interface RetryPolicy {
  /** Extra attempts after the first for transient failures. @default 3 */
  readonly retries: number;
  /** First back-off delay; doubled each time. @default 250 */
  readonly baseDelayMs: number;
  /** Upper bound of one delay. @default 4000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 250, maxDelayMs: 4000 };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Delay before attempt `n` (1-based retry number), with up to 20% jitter so many servers do not retry in step. */
export function backoffDelay(policy: RetryPolicy, n: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.round(base * (0.8 + 0.2 * random()));
}

/** Runs `fn`, retrying while `isTransient(error)` holds, at most `policy.retries` more times. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  isTransient: (e: unknown) => boolean,
  policy: RetryPolicy,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= policy.retries || !isTransient(e)) throw e;
      await sleep(backoffDelay(policy, attempt + 1));
    }
  }
}
