/** `zeroroot:services` in a data-center stack: every mistake reported at once, with key path and line. */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkStackConfig, parseDuration, parseStackFile, type ConfigIssue } from "../../../lib/fleet";
import { partitionSlots } from "../../../lib/fleet/services-releases";

const DC1 = readFileSync(join(__dirname, "../../../stacks/Pulumi.dc1.yaml"), "utf8");
const SERVICES_AT = DC1.indexOf("  zeroroot:services:");

/** dc1 with its services replaced by `yaml` (indented as under `config:`). */
function withServices(yaml: string): ConfigIssue[] {
  const text = `${DC1.slice(0, SERVICES_AT)}  zeroroot:services:\n${yaml}`;
  return checkStackConfig(parseStackFile(text, "Pulumi.dc1.yaml")).issues;
}

const svc = (extra: string) =>
  `    - name: pg\n      release: postgresql@15.8.0\n      placement: { role: storage }\n${extra}`;

describe("services config", () => {
  it("accepts the example services", () => {
    const r = checkStackConfig(parseStackFile(DC1, "Pulumi.dc1.yaml"));
    assert.deepEqual(r.issues, []);
    // postgresql, galera; alice's Dask cluster is under zeroroot:clusters (docs/compute.md)
    assert.equal(r.value?.kind === "dataCenter" && r.value.services.length, 2);
  });

  it("requires a minimum persistence for a data-holding service, naming the key and the line", () => {
    const issues = withServices(svc("      holdsData: true\n"));
    assert.deepEqual(
      issues.map((i) => i.path),
      ["zeroroot:services[0].minimumPersistence"],
    );
    assert.match(issues[0].allowed, /minimum persistence/);
    assert.ok(issues[0].line && issues[0].line > 80, "file:line of the service");
  });

  it("reports every mistake at once: bad duration, bad reference, unknown server, port below 1024", () => {
    const issues = withServices(
      [
        "    - name: pg",
        "      release: postgresql-15.8.0",
        "      placement: { servers: [dc1-s09] }",
        "      holdsData: true",
        "      minimumPersistence: a week",
        "      endpoints: [{ port: 80 }]",
        "",
      ].join("\n"),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "zeroroot:services[0].endpoints[0].port",
      "zeroroot:services[0].minimumPersistence",
      "zeroroot:services[0].release",
    ]);
    const ref = issues.find((i) => i.path.endsWith("release"))!;
    assert.equal(ref.received, '"postgresql-15.8.0"');
    assert.match(ref.allowed, /name@version/);
    assert.match(ref.fix, /set zeroroot:services\[0\]\.release/);
  });

  it("names a placement on a server that does not exist, once the shape is right", () => {
    const issues = withServices(
      "    - name: pg\n      release: postgresql@15.8.0\n      placement: { servers: [dc1-s01, dc1-s09] }\n      holdsData: true\n      minimumPersistence: 30d\n",
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.received]),
      [["zeroroot:services[0].placement.servers[1]", '"dc1-s09"']],
    );
  });

  it("refuses a service name used twice and a port used twice on one server", () => {
    const one = svc(
      "      holdsData: true\n      minimumPersistence: 30d\n      endpoints: [{ port: 5432 }]\n",
    );
    const issues = withServices(one + one);
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "zeroroot:services[1].endpoints[0].port",
      "zeroroot:services[1].name",
    ]);
  });

  it("does not refuse runAs root or a password-like parameter: the policies judge them", () => {
    const issues = withServices(
      svc(
        '      holdsData: true\n      minimumPersistence: 30d\n      runAs: { user: root, uid: 0 }\n      parameters: { adminPassword: "hunter2" }\n',
      ),
    );
    assert.deepEqual(issues, []);
  });

  it("refuses services in the global stack", () => {
    const text = readFileSync(join(__dirname, "../../../stacks/Pulumi.global.yaml"), "utf8");
    const issues = checkStackConfig(
      parseStackFile(`${text}  zeroroot:services: []\n`, "Pulumi.global.yaml"),
    ).issues;
    assert.deepEqual(
      issues.map((i) => i.path),
      ["zeroroot:services"],
    );
  });

  it("parses durations in days, hours, minutes and seconds", () => {
    assert.equal(parseDuration("30d"), 2_592_000);
    assert.equal(parseDuration("1d12h"), 129_600);
    assert.equal(parseDuration("90m"), 5_400);
    assert.equal(parseDuration("7 days"), undefined);
    assert.equal(parseDuration(""), undefined);
  });

  it("gives each instance of a computer its own partition slot, stable when a service is appended", () => {
    const names = Array.from({ length: 100 }, (_, i) => `svc-${i}`);
    const slots = partitionSlots(names);
    assert.equal(new Set(slots.values()).size, 100);
    const more = partitionSlots([...names, "svc-new"]);
    for (const n of names) assert.equal(more.get(n), slots.get(n), n);
  });
});
