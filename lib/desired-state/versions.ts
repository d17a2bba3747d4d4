/**
 * The two version numbers the control plane holds for a computer, read from their raw etcd values:
 * the desired-state version the operator published (`keys.desired`) and the one its agent reports
 * applied (`keys.status`). The provider's refresh and `lab up`'s applied-state wait both read them;
 * one reader keeps them from disagreeing on what an unreadable value means (undefined: no number).
 */

function numberAt(text: string | undefined, at: (v: Record<string, unknown>) => unknown): number | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const n = at(v as Record<string, unknown>);
    return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const field = (v: unknown, name: string): unknown =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>)[name] : undefined;

/** The version of the signed document published for a computer (`{document: {version}}`). */
export const publishedVersion = (text: string | undefined): number | undefined =>
  numberAt(text, (v) => field(v.document, "version"));

/** The desired-state version a computer's agent reports applied (`{desired: {version}}`). */
export const appliedVersion = (text: string | undefined): number | undefined =>
  numberAt(text, (v) => field(v.desired, "version"));
