import { strict as assert } from "node:assert";
import {
  UNKNOWN,
  hostViewFromObserved,
  hostViewOfDesiredState,
  mutualTls,
  runRule,
} from "../../../lib/rules";
import { clone, desiredState, record } from "./fixtures";

const run = (p: unknown) => runRule(mutualTls, hostViewOfDesiredState(record("DesiredState", "ds", p)));

describe("rule mutual-tls", () => {
  it("passes when every endpoint is TLS and requires client certificates", () =>
    assert.deepEqual(run(desiredState), []));
  const cases: [string, (p: ReturnType<typeof clone>) => void, string][] = [
    [
      "fails when an endpoint is not TLS",
      (p) => (p.instances[0].endpoints[0].tls = false),
      "instances[0].endpoints[0].tls",
    ],
    [
      "fails when an endpoint accepts clients without a certificate",
      (p) => (p.instances[0].endpoints[0].requireClientCertificate = false),
      "instances[0].endpoints[0].requireClientCertificate",
    ],
    [
      "fails when requireClientCertificate is missing",
      (p) => delete p.instances[0].endpoints[0].requireClientCertificate,
      "instances[0].endpoints[0].requireClientCertificate",
    ],
  ];
  for (const [title, mutate, path] of cases) {
    it(title, () => {
      const p = clone(desiredState);
      mutate(p);
      assert.deepEqual(
        run(p).map((f) => f.path),
        [path],
      );
    });
  }
  it("reports nothing for values unknown at preview", () => {
    const p = clone(desiredState);
    p.instances[0].endpoints[0].tls = UNKNOWN;
    p.instances[0].endpoints[0].requireClientCertificate = UNKNOWN;
    assert.deepEqual(run(p), []);
  });
  it("on a live host judges only what was observed", () => {
    const h = hostViewFromObserved({
      hostId: "h",
      listening: [
        { port: 5432, protocol: "tcp" },
        { port: 3306, protocol: "tcp", tls: false },
      ],
    });
    assert.deepEqual(
      runRule(mutualTls, h).map((f) => f.path),
      ["listening[1].tls"],
    );
  });
});
