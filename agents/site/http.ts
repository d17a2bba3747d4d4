/**
 * HTTP plumbing of the site services: refusals as values with a status, bounded JSON bodies checked
 * by a zod schema, JSON answers, and quoting of untrusted text for the log.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { escapeForMessage } from "../../lib/pki";
import { describeIssues } from "../../lib/site";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Untrusted text (a URL, a MAC, a CN) made safe for one log line: escaped and cut to `max` characters. */
export function quote(text: unknown, max = 120): string {
  const s = String(text);
  return escapeForMessage(s.length > max ? `${s.slice(0, max)}…` : s);
}

export function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...(close ? { connection: "close" } : {}),
  });
  res.end(text);
}

/**
 * Reads a JSON body of at most `limit` bytes and checks it against `schema`. The declared length is
 * checked before reading anything; a body sent without one is counted as it arrives and cut off at
 * the limit. Anything but `application/json` is refused unread.
 */
export async function readBody<S extends z.ZodType>(
  req: IncomingMessage,
  limit: number,
  schema: S,
): Promise<z.infer<S>> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json")
    throw new HttpError(
      415,
      `the body must be application/json; got ${type ? `"${quote(type, 60)}"` : "no content-type"}`,
    );
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit)
    throw new HttpError(
      413,
      `request body of ${quote(declared, 20)} bytes is over this route's limit of ${limit}`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body over this route's limit of ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the request body is not JSON");
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw new HttpError(400, `request body refused: ${describeIssues(r.error)}`);
  return r.data;
}
