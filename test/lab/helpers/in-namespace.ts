/**
 * Runs one network call from inside a lab namespace (the test process itself lives in the host's
 * namespace, which reaches no lab network), printing one JSON line: {ok, value} or {ok:false, ...}.
 *
 *   in-namespace.ts site <url> <serverName> <rootPem> <method> <path> [bodyJson] [--operator cert key] [--bearer token]
 *   in-namespace.ts ssh <host> <port>
 */
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import { SiteClient, SiteError } from "../../../lib/site";

async function site(argv: string[]): Promise<unknown> {
  const [url, serverName, rootPem, method, path, body] = argv;
  const op = argv.indexOf("--operator");
  const bearer = argv.indexOf("--bearer");
  const identity =
    op > 0
      ? {
          certificateChainPem: readFileSync(argv[op + 1], "utf8"),
          privateKeyPem: readFileSync(argv[op + 2], "utf8"),
        }
      : undefined;
  const headers: Record<string, string> = bearer > 0 ? { authorization: `Bearer ${argv[bearer + 1]}` } : {};
  const client = new SiteClient({ url, serverName, trust: readFileSync(rootPem, "utf8"), identity });
  return method === "GET"
    ? client.get(path, headers)
    : client.post(path, body && !body.startsWith("--") ? JSON.parse(body) : {}, headers);
}

function ssh(host: string, port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const c = new Client();
    const done = (v: unknown) => {
      c.end();
      resolve(v);
    };
    c.on("ready", () => done({ connected: true, authenticated: true }));
    c.on("error", (e: NodeJS.ErrnoException) =>
      done({ connected: false, error: e.code ?? e.message, level: (e as { level?: string }).level }),
    );
    c.connect({ host, port, username: "root", password: "root", readyTimeout: 5000 });
  });
}

async function main(): Promise<void> {
  const [kind, ...rest] = process.argv.slice(2);
  try {
    const value = kind === "ssh" ? await ssh(rest[0], Number(rest[1])) : await site(rest);
    process.stdout.write(JSON.stringify({ ok: true, value }) + "\n");
  } catch (err) {
    process.stdout.write(
      JSON.stringify({
        ok: false,
        status: err instanceof SiteError ? err.status : undefined,
        message: (err as Error).message,
      }) + "\n",
    );
  }
}

void main();
