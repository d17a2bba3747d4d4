/**
 * One stack's deployment, as a process of its own: `lab up` runs each data center's through
 * `ip netns exec zr-<dc>-mgmt`, where the operator reaches that site's services and BMCs — as
 * DESIGN.md says `pulumi up` for a data center runs where it can reach them.
 *
 *   deploy-cli.ts --stack-file F --state S [--outputs-in G.json] [--outputs-out O.json] [--passphrase-file P] [--releases-dir D]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { deployStack } from "./runner";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

async function main(): Promise<number> {
  const file = arg("--stack-file");
  const state = arg("--state");
  if (!file || !state) {
    process.stderr.write(
      "usage: deploy-cli.ts --stack-file F --state S [--outputs-in G.json] [--outputs-out O.json] [--passphrase-file P]\n",
    );
    return 2;
  }
  const inFile = arg("--outputs-in");
  const passFile = arg("--passphrase-file");
  const evaluation = await deployStack(file, {
    statePath: state,
    stackOutputs: inFile
      ? (JSON.parse(readFileSync(inFile, "utf8")) as Record<string, Record<string, unknown>>)
      : undefined,
    passphrase: passFile ? readFileSync(passFile, "utf8").trim() : undefined,
    log: (m) => process.stdout.write(`${m}\n`),
    releasesDir: arg("--releases-dir"),
  });
  for (const l of evaluation.logs) process.stdout.write(`${l.level}: ${l.message}\n`);
  const out = arg("--outputs-out");
  if (out) writeFileSync(out, JSON.stringify(evaluation.outputs, null, 1));
  return evaluation.logs.some((l) => l.level === "error") ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`deploy failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
