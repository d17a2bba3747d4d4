/**
 * One data center's convergence, as a process of its own inside its management namespace (where
 * its BMCs and site services are reachable): `lab up` runs
 *
 *   ip netns exec <prefix><dc>-mgmt tsx converge-cli.ts --dc dc1 [--timeout SECONDS]
 *
 * with the lab id and the operator's identity in the environment (ZEROROOT_LAB_ID,
 * ZEROROOT_OPERATOR_CERT/KEY). Prints progress lines, then one `RESULT <json>` line per server.
 * Exit 0 when every server converged, 1 otherwise, 2 on usage errors.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readOperatorIdentity } from "../../provider/operator-identity";
import { convergeDataCenter, RESULT_MARK } from "./converge";
import { readLabLayout } from "./layout";

async function main(argv: string[]): Promise<number> {
  const at = (k: string) => (argv.indexOf(k) >= 0 ? argv[argv.indexOf(k) + 1] : undefined);
  const dc = at("--dc");
  const timeout = Number(at("--timeout") ?? 420);
  if (!dc || !Number.isInteger(timeout) || timeout < 1 || timeout > 3600) {
    process.stderr.write("usage: converge-cli.ts --dc <dc> [--timeout 1-3600 seconds]\n");
    return 2;
  }
  const lab = readLabLayout();
  if (!lab) throw new Error("no lab here: run `zeroroot lab up` first");
  const results = await convergeDataCenter(lab, dc, {
    timeoutMs: timeout * 1000,
    identity: readOperatorIdentity(),
    rootPem: readFileSync(join(lab.dir, "root.pem"), "utf8"),
    log: (m) => process.stdout.write(`${m}\n`),
  });
  for (const r of results) process.stdout.write(`${RESULT_MARK}${JSON.stringify(r)}\n`);
  return results.every((r) => r.converged) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`converge: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
