process.setSourceMapsEnabled(false);
import * as pulumi from "@pulumi/pulumi";
const settings = require("@pulumi/pulumi/runtime/settings");
class R extends pulumi.CustomResource { constructor(n: string, p: Record<string, unknown>) { super("bench:index:R", n, p); } }
async function run(props: number, count: number) {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "p", "s", false);
  const t = performance.now();
  const p: Record<string, unknown> = {};
  for (let i = 0; i < props; i++) p[`k${i}`] = i;
  for (let i = 0; i < count; i++) new R(`r${props}-${i}-${Math.random()}`, p);
  await settings.waitForRPCs();
  return performance.now() - t;
}
async function main() {
  await run(1, 100);
  for (const n of [1, 5, 10, 20]) console.log(n, "props:", (await run(n, 500)).toFixed(0), "ms / 500");
}
main();
