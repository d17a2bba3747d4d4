/**
 * Entry of the provider plugin `pulumi-resource-zeroroot`: serves zeroroot's resources over the
 * engine's gRPC protocol and prints its port on stdout (server.ts says why not the SDK's `main`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeProvider } from "./provider";
import { serve } from "./server";

const schema = readFileSync(join(__dirname, "schema.json"), "utf8");
const { version } = JSON.parse(schema) as { version: string };

serve(makeProvider(version, schema)).catch((err: unknown) => {
  process.stderr.write(`pulumi-resource-zeroroot: ${(err as Error).message}\n`);
  process.exit(1);
});
