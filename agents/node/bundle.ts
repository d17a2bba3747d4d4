/**
 * The agent as the image ships it: one esbuild bundle for Debian's Node 18, with etcd3's protocol
 * files next to it: etcd3 loads `${__dirname}/../proto/rpc.proto` at run time, and in a bundle
 * __dirname is the bundle's directory, so that one path is rewritten to `<bundle dir>/proto/rpc.proto`.
 *
 *   await bundleAgent("/tmp/out")  ->  /tmp/out/agent.js, /tmp/out/proto/*.proto
 *   image: /opt/zeroroot/agent/{agent.js,proto/}, run as `/usr/bin/node <AGENT_NODE_FLAGS> /opt/zeroroot/agent/agent.js`
 *
 * By default (`controlPlaneClient: "h2"`) the bundle resolves lib/controlplane's `./client` to
 * `./client-h2` (Node's HTTP/2, etcd's messages by hand; 8 MB less RSS in use, bench agent-parts),
 * so the agent's code is the same; both clients pass one specification against a real etcd
 * (test/integration/controlplane/clients.test.ts). `"etcd3"` bundles etcd3 and its proto files
 * (the benchmarks compare the two; docs/agent.md, "Footprint").
 */
import { cpSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Node flags of the agent's command line (the image's agentCommand): a 1 MB young generation, V8's
 * lite mode (no optimising compiler, feedback allocated lazily) and no V8 helper threads (the
 * garbage collector and compiler work on the main thread, without per-thread allocator arenas)
 * keep the mostly idle agent's memory down; `npm run bench -- agent` measures each (docs/agent.md,
 * "Footprint").
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  "--max-semi-space-size=1",
  "--lite-mode",
  "--single-threaded",
];

/**
 * The agent's environment: glibc's malloc with a fixed mmap threshold (128 KiB). By default glibc
 * raises the threshold after freeing a large block, and the blocks V8 and OpenSSL then take from the
 * brk heap stay resident after they are freed (only the heap's top can be given back). Measured with
 * the agent's client in use: 64.7 -> 60.7 MB RSS, CPU unchanged within noise (docs/agent.md,
 * "Footprint"). Not a secret, and read by glibc only at start (setuid programs ignore it).
 */
export const AGENT_ENVIRONMENT: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=131072",
};

/** The agent's command line as a supervisord `command=`: `env` sets AGENT_ENVIRONMENT, then execs Node. */
export function agentCommandLine(entry: string): string {
  const env = Object.entries(AGENT_ENVIRONMENT).map(([k, v]) => `${k}=${v}`);
  return ["/usr/bin/env", ...env, "/usr/bin/node", ...AGENT_NODE_FLAGS, entry].join(" ");
}

export interface AgentBundle {
  readonly entry: string;
  /** etcd3's protocol files, with the etcd3 client only. */
  readonly protoDir?: string;
  readonly bytes: number;
}

export interface BundleOptions {
  /**
   * Whitespace and syntax minified, names kept (stack traces and error names stay readable). V8
   * keeps a script's whole source in the heap and parses it at load: the plain bundle costs the
   * agent ~10 MB more RSS (docs/agent.md, "Footprint"). @default true
   */
  readonly minify?: boolean;
  /**
   * The control-plane client bundled: client-h2.ts, or etcd3's (client.ts). @default "h2": since
   * the outage fix (docs/agent.md, "Footprint") the agent on it passes test/lab/agent and the
   * workload lab files (3 Dec 2026).
   */
  readonly controlPlaneClient?: "h2" | "etcd3";
}

const CONTROLPLANE_DIR = join(__dirname, "..", "..", "lib", "controlplane");

export async function bundleAgent(outDir: string, opts: BundleOptions = {}): Promise<AgentBundle> {
  const minify = opts.minify ?? true;
  const etcd3 = (opts.controlPlaneClient ?? "h2") === "etcd3";
  // esbuild is a dependency of tsx; required lazily so the agent itself never needs it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require("esbuild") as typeof import("esbuild");
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, "agent.js");
  await esbuild.build({
    entryPoints: [join(__dirname, "main.ts")],
    outfile: entry,
    bundle: true,
    platform: "node",
    target: "node18",
    format: "cjs",
    minifyWhitespace: minify,
    minifySyntax: minify,
    minifyIdentifiers: false,
    charset: "ascii",
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    // the agent must never carry the Pulumi SDK
    external: ["@pulumi/*"],
    plugins: [
      {
        name: "controlplane-client-h2",
        setup(build) {
          if (etcd3) return;
          build.onResolve({ filter: /^\.\/client$/ }, (args) =>
            args.resolveDir === CONTROLPLANE_DIR
              ? { path: join(CONTROLPLANE_DIR, "client-h2.ts") }
              : undefined,
          );
        },
      },
      {
        name: "etcd3-proto-next-to-bundle",
        setup(build) {
          build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
            const text = readFileSync(args.path, "utf8");
            const from = "`${__dirname}/../proto/rpc.proto`";
            if (!text.includes(from))
              throw new Error(`${args.path}: etcd3 no longer loads ${from}; update agents/node/bundle.ts`);
            return { contents: text.replace(from, "`${__dirname}/proto/rpc.proto`"), loader: "js" };
          });
        },
      },
    ],
  });
  if (minify) assertAscii(entry);
  const bytes = statSync(entry).size;
  if (!etcd3) {
    // the bundle must not carry etcd3 by another path (an import of client.ts not through lib/controlplane)
    if (readFileSync(entry, "latin1").includes("@grpc/grpc-js"))
      throw new Error(
        `${entry}: grpc-js is bundled although the agent's client is client-h2.ts; find who imports etcd3`,
      );
    return { entry, bytes };
  }
  const protoDir = join(outDir, "proto");
  cpSync(join(dirname(require.resolve("etcd3/package.json")), "proto"), protoDir, { recursive: true });
  return { entry, protoDir, bytes };
}

/**
 * One non-ASCII character (a comment in a dependency suffices) makes V8 hold the whole source as
 * UTF-16, twice its size, for as long as the agent runs.
 */
function assertAscii(file: string): void {
  const text = readFileSync(file, "latin1");
  const at = text.search(/[\u0080-\u00ff]/); // read as latin1: one character per byte
  if (at >= 0)
    throw new Error(
      `${file}: non-ASCII byte at offset ${at} (${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}); ` +
        "the agent's bundle must be ASCII so V8 keeps its source at one byte per character; find the dependency and escape it",
    );
}
