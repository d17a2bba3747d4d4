import { strict as assert } from "node:assert";
import {
  agentSwitches,
  renderInstance,
  RenderError,
  parseAgentConfig,
  parseTrustFile,
  AgentConfigError,
} from "../../../lib/agent";
import { partitionPaths } from "../../../lib/hardening";
import { instance, manifest } from "./fixtures";

const paths = partitionPaths("zr-p000", "/var/lib/zeroroot");
const input = (over: Partial<Parameters<typeof renderInstance>[0]> = {}) => ({
  spec: instance({ parameters: { greeting: "hello 100%" } }),
  manifest: manifest(),
  paths,
  releaseDir: "/opt/zeroroot/releases/web@1.0.0",
  ...over,
});

describe("agent: rendering an instance for its partition's supervisord", () => {
  it("renders the release's command with the partition's values, never a user= line (the supervisord is the partition user)", () => {
    const r = renderInstance(input());
    assert.match(
      r.conf,
      /^command=\/opt\/zeroroot\/releases\/web@1\.0\.0\/bin\/serve --port=8080 --name=inst-0$/m,
    );
    assert.match(r.conf, /^directory=\/var\/lib\/zeroroot\/zr-p000\/instance$/m);
    assert.doesNotMatch(r.conf, /^user=/m);
    assert.match(r.conf, /USER="zr-p000"/);
    assert.deepEqual(r.files, [{ path: "etc/web.conf", content: "greeting=hello 100%\n", mode: 0o640 }]);
    assert.deepEqual(r.programs, ["web"]);
  });

  it("gives the same digest for the same input and another one when a parameter changes", () => {
    assert.equal(renderInstance(input()).digest, renderInstance(input()).digest);
    const other = renderInstance(input({ spec: instance({ parameters: { greeting: "bye" } }) }));
    assert.notEqual(other.digest, renderInstance(input()).digest);
  });

  it("refuses a parameter that would add arguments to a command", () => {
    const m = manifest({
      programs: [{ name: "web", command: "/bin/x {{parameters.flag}}", user: "{{partition.user}}" }],
    });
    assert.throws(
      () => renderInstance(input({ manifest: m, spec: instance({ parameters: { flag: "a --evil" } }) })),
      (e: unknown) => e instanceof RenderError && /cannot go into a command/.test(e.message),
    );
  });

  it("refuses a template whose parameter is not given, naming it", () => {
    assert.throws(() => renderInstance(input({ spec: instance() })), /give parameter "greeting"/);
  });

  it("escapes % for supervisord", () => {
    const m = manifest({ programs: [{ name: "web", command: "/bin/x 50%", user: "{{partition.user}}" }] });
    assert.match(renderInstance(input({ manifest: m })).conf, /^command=\/bin\/x 50%%$/m);
  });

  it("reads stopOnAnomaly from the instance's parameters", () => {
    assert.equal(
      agentSwitches(instance({ parameters: { "zeroroot.stopOnAnomaly": "true" } })).stopOnAnomaly,
      true,
    );
    assert.equal(agentSwitches(instance()).stopOnAnomaly, false);
  });
});

describe("agent: configuration files", () => {
  const minimal = {
    serverId: "dc1-s1",
    hostname: "s1.dc1.z.test",
    siteUrl: "https://site.dc1.z.test:8443",
    siteServerName: "site.dc1.z.test",
  };

  it("accepts the installer's minimal agent.json (readiness only) with defaults", () => {
    const c = parseAgentConfig(minimal);
    assert.equal(c.controlPlane, undefined);
    assert.equal(c.partitions, 0);
    assert.equal(c.paths.stateDir, "/var/lib/zeroroot/zr-agent/state");
  });

  it("refuses control-plane endpoints by IP or over http, naming the key", () => {
    for (const e of ["https://10.0.0.1:2379", "http://etcd.dc1.z.test:2379"])
      assert.throws(
        () => parseAgentConfig({ ...minimal, controlPlane: { endpoints: [e] } }),
        /controlPlane\.endpoints/,
      );
  });

  // the provider plugin's rules (lib/site/origin.ts), applied by the agent to the file the installer wrote
  const hostileAddresses: [string, Record<string, unknown>, RegExp][] = [
    ["siteUrl over http", { siteUrl: "http://site.dc1.z.test:8443" }, /siteUrl: .*not an https:\/\/ URL/],
    [
      "siteUrl with a path (dropped by new URL)",
      { siteUrl: "https://site.dc1.z.test:8443/x" },
      /siteUrl: .*path/,
    ],
    [
      "siteUrl with a newline (removed by URL parsing)",
      { siteUrl: "https://site\n.dc1.z.test" },
      /siteUrl: .*control character/,
    ],
    ["siteUrl in upper case", { siteUrl: "https://SITE.dc1.z.test" }, /siteUrl: .*lower-case/],
    ["siteUrl with a port out of range", { siteUrl: "https://site.dc1.z.test:70000" }, /siteUrl: .*port/],
    [
      "siteUrl of 10,000 characters",
      { siteUrl: `https://${"a".repeat(10_000)}.test` },
      /siteUrl: ".{77}\.\.\." \(10013 characters\): longer than 300/,
    ],
    ["siteServerName an IP", { siteServerName: "10.0.0.1" }, /siteServerName: .*IP address/],
    ["siteServerName a wildcard", { siteServerName: "*.dc1.z.test" }, /siteServerName: .*wildcard/],
    ["siteServerName with a trailing dot", { siteServerName: "site.dc1.z.test." }, /siteServerName: .*dot/],
    [
      "an endpoint by IP",
      { controlPlane: { endpoints: ["https://10.0.0.1:2379"] } },
      /endpoints\[0\]: .*IP address/,
    ],
    [
      "an endpoint over http",
      { controlPlane: { endpoints: ["http://etcd.dc1.z.test:2379"] } },
      /endpoints\[0\]: .*https/,
    ],
    [
      "an endpoint without a port",
      { controlPlane: { endpoints: ["https://etcd.dc1.z.test"] } },
      /endpoints\[0\]: .*<port>/,
    ],
    [
      "an endpoint with a bidi override",
      { controlPlane: { endpoints: ["https://etcd.dc1.z.test:2379", "https://e\u202etcd.z.test:2379"] } },
      /endpoints\[1\]: .*non-ASCII/,
    ],
    [
      "an endpoint not a string",
      { controlPlane: { endpoints: [2379] } },
      /endpoints\[0\]: 2379: not a string/,
    ],
    ["no endpoints", { controlPlane: { endpoints: [] } }, /controlPlane\.endpoints: got \[\]/],
    [
      "ten endpoints (more than a data center's configuration may name)",
      {
        controlPlane: { endpoints: Array.from({ length: 10 }, (_, i) => `https://etcd${i}.dc1.z.test:2379`) },
      },
      /controlPlane\.endpoints: got \[.{1,3}https:\/\/etcd0.*1-9 distinct/,
    ],
    [
      "the same endpoint twice",
      { controlPlane: { endpoints: ["https://etcd.dc1.z.test:2379", "https://etcd.dc1.z.test:2379"] } },
      /endpoints\[1\]: .*the same as endpoints\[0\]/,
    ],
  ];
  for (const [what, over, reason] of hostileAddresses)
    it(`refuses ${what}, naming the key and the reason`, () => {
      assert.throws(
        () => parseAgentConfig({ ...minimal, ...over }),
        (e: unknown) =>
          e instanceof AgentConfigError && reason.test(e.message) && /allowed: /.test(e.message),
      );
    });

  it("never repeats a password given in a URL", () => {
    for (const over of [
      { siteUrl: "https://admin:hunter2@site.dc1.z.test:8443" },
      { controlPlane: { endpoints: ["https://root:hunter2@etcd.dc1.z.test:2379"] } },
      { controlPlane: { endpoints: Array(10).fill("https://root:hunter2@etcd.dc1.z.test:2379") } },
    ])
      assert.throws(
        () => parseAgentConfig({ ...minimal, ...over }),
        (e: unknown) =>
          e instanceof AgentConfigError &&
          /user name or password|value hidden/.test(e.message) &&
          !/hunter2/.test(e.message),
      );
  });

  it("bounds what it repeats of a hostile key or value", () => {
    const long = "x".repeat(100_000);
    for (const [over, key] of [
      [{ anomaly: { [long]: -1 } }, /anomaly\."x{77}\.\.\." \(100000 characters\)/],
      [{ hostname: [long] }, /hostname: got \[.{1,3}x{70}/],
      [{ paths: { stateDir: long } }, /paths\.stateDir: got "x{77}\.\.\."/],
    ] as const)
      assert.throws(
        () => parseAgentConfig({ ...minimal, ...over }),
        (e: unknown) => e instanceof AgentConfigError && key.test(e.message) && e.message.length < 400,
      );
  });

  it("refuses more partitions than the image can have", () => {
    assert.throws(() => parseAgentConfig({ ...minimal, partitions: 5000 }), /partitions: got 5000/);
  });

  it("reads trust.json and refuses one where nobody may sign desired state", () => {
    const t = parseTrustFile({
      kind: "zeroroot.trust/v1",
      signers: [
        { identity: "dc1/software/cp", desiredState: ["dc1"] },
        { identity: "dc1/software/alice", releases: ["*"] },
      ],
    });
    assert.equal(t.authorisation.signers.length, 2);
    assert.throws(
      () =>
        parseTrustFile({
          kind: "zeroroot.trust/v1",
          signers: [{ identity: "dc1/software/alice", releases: ["*"] }],
        }),
      (e: unknown) => e instanceof AgentConfigError && /refuse every document/.test(e.message),
    );
    assert.throws(() => parseTrustFile({ signers: [] }), /kind/);
    assert.throws(
      () =>
        parseTrustFile({ kind: "zeroroot.trust/v1", signers: [{ commonName: "cp", desiredState: ["dc1"] }] }),
      (e: unknown) =>
        e instanceof AgentConfigError && /signers\[0\]\.commonName: .*"identity"/.test(e.message),
    );
  });
});
