/**
 * Entry of the provider plugin `pulumi-resource-zeroroot`: serves zeroroot's resources over the
 * engine's gRPC protocol and prints its port on stdout (the SDK's `main`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "@pulumi/pulumi/provider";
import { makeProvider } from "./provider";

const schema = readFileSync(join(__dirname, "schema.json"), "utf8");
const { version } = JSON.parse(schema) as { version: string };

main(makeProvider(version, schema), process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`pulumi-resource-zeroroot: ${(err as Error).message}\n`);
  process.exit(1);
});
