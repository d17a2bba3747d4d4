/**
 * The agent as the image ships it: one esbuild bundle for Debian's Node 18, with etcd3's protocol
 * files next to it. etcd3 loads `${__dirname}/../proto/rpc.proto` at run time; in a bundle __dirname
 * is the bundle's directory, so the bundle rewrites that one path to `<bundle dir>/proto/rpc.proto`.
 *
 *   await bundleAgent("/tmp/out")  ->  /tmp/out/agent.js, /tmp/out/proto/*.proto
 *   image: /opt/zeroroot/agent/{agent.js,proto/}, run as `/usr/bin/node /opt/zeroroot/agent/agent.js`
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

export interface AgentBundle {
  readonly entry: string;
  readonly protoDir: string;
  readonly bytes: number;
}

export interface BundleOptions {
  /**
   * Whitespace and syntax minified, names kept (stack traces and error names stay readable). V8
   * keeps a script's whole source in the heap and parses it at load: the plain bundle costs the
   * agent ~10 MB more RSS (docs/agent.md, "Footprint"). @default true
   */
  readonly minify?: boolean;
}

export async function bundleAgent(outDir: string, opts: BundleOptions = {}): Promise<AgentBundle> {
  const minify = opts.minify ?? true;
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
  const etcd3 = dirname(require.resolve("etcd3/package.json"));
  const protoDir = join(outDir, "proto");
  cpSync(join(etcd3, "proto"), protoDir, { recursive: true });
  return { entry, protoDir, bytes: statSync(entry).size };
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
