import { strict as assert } from "node:assert";
import {
  UNKNOWN,
  hostViewFromObserved,
  hostViewOfDesiredState,
  hostViewOfImage,
  runRule,
  zeroRoot,
} from "../../../lib/rules";
import { clone, desiredState, image, record } from "./fixtures";

const imageFindings = (props: unknown) =>
  runRule(zeroRoot, hostViewOfImage(record("HardenedImage", "img", props)));
const stateFindings = (props: unknown) =>
  runRule(zeroRoot, hostViewOfDesiredState(record("DesiredState", "ds", props)));

describe("rule zero-root", () => {
  it("passes the compliant image and desired state", () => {
    assert.deepEqual(imageFindings(image), []);
    assert.deepEqual(stateFindings(desiredState), []);
  });

  const imageCases: [string, (p: ReturnType<typeof clone>) => void, string][] = [
    ["fails when a program runs as uid 0", (p) => (p.programs[1].uid = 0), "programs[1].uid"],
    ["fails when a program runs as user root", (p) => (p.programs[1].user = "root"), "programs[1].user"],
    ["fails when supervisord runs as uid 0", (p) => (p.programs[0].uid = 0), "programs[0].uid"],
    [
      "fails when a program keeps a capability",
      (p) => (p.programs[1].capabilities = ["CAP_NET_BIND_SERVICE"]),
      "programs[1].capabilities",
    ],
    [
      "fails when a program lacks noNewPrivileges",
      (p) => (p.programs[1].noNewPrivileges = false),
      "programs[1].noNewPrivileges",
    ],
    [
      "fails when noNewPrivileges is missing",
      (p) => delete p.programs[1].noNewPrivileges,
      "programs[1].noNewPrivileges",
    ],
    ["fails when a platform user has uid 0", (p) => (p.users[1].uid = 0), "users[1].uid"],
  ];
  for (const [title, mutate, path] of imageCases) {
    it(title, () => {
      const p = clone(image);
      mutate(p);
      const f = imageFindings(p);
      assert.equal(f.length, 1, JSON.stringify(f));
      assert.equal(f[0].rule, "zero-root");
      assert.equal(f[0].path, path);
    });
  }

  it("fails when an instance partition is root", () => {
    const p = clone(desiredState);
    p.instances[0].partition = { user: "root", uid: 0 };
    assert.deepEqual(
      stateFindings(p).map((f) => f.path),
      ["instances[0].partition.uid"],
    );
  });

  it("fails when an instance program runs as uid 0", () => {
    const p = clone(desiredState);
    p.instances[0].programs[0].uid = 0;
    assert.deepEqual(
      stateFindings(p).map((f) => f.path),
      ["instances[0].programs[0].uid"],
    );
  });

  it("reports nothing for values unknown at preview", () => {
    const p = clone(image);
    p.programs[1].uid = UNKNOWN;
    p.programs[0].capabilities = UNKNOWN;
    p.programs[0].noNewPrivileges = UNKNOWN;
    assert.deepEqual(imageFindings(p), []);
    assert.deepEqual(imageFindings({ ...image, programs: UNKNOWN }), []);
    assert.deepEqual(stateFindings({ ...desiredState, instances: [UNKNOWN] }), []);
  });

  it("judges a live host the same way, exempting PID 1", () => {
    const host = hostViewFromObserved({
      hostId: "dc1-s01",
      processes: [
        { pid: 1, name: "init", uid: 0, capabilities: ["CAP_SYS_ADMIN"], noNewPrivileges: false },
        { pid: 40, name: "supervisord", uid: 2000, capabilities: [], noNewPrivileges: true },
        { pid: 41, name: "mariadbd", uid: 0, capabilities: [], noNewPrivileges: true },
      ],
    });
    assert.deepEqual(
      runRule(zeroRoot, host).map((f) => f.path),
      ["pid 41.uid"],
    );
  });

  it("allows configured capabilities", () => {
    const p = clone(image);
    p.programs[1].capabilities = ["CAP_NET_BIND_SERVICE"];
    const f = runRule(zeroRoot, hostViewOfImage(record("HardenedImage", "i", p)), {
      allowedCapabilities: ["CAP_NET_BIND_SERVICE"],
    });
    assert.deepEqual(f, []);
  });
});
