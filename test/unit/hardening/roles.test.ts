/**
 * Role images: the role picks the packages and the open ports; each role's spec is a complete,
 * hardened spec of its own (its own hash, so its own cache entry), and a role not known is refused.
 */
import { strict as assert } from "node:assert";
import {
  BASE_PACKAGES,
  forbiddenReason,
  HardeningSpecError,
  POSTGRESQL_PORT,
  resolveHardenedImageSpec,
  ROLE_IMAGES,
  SERVER_ROLES,
  specHash,
  type HardenedImageArgs,
} from "../../../lib/hardening";
import { COMPUTE_PORTS } from "../../../lib/hardening/roles";

describe("role images", () => {
  it("storage carries the datastores and their state-transfer tools; compute carries no database", () => {
    const storage = resolveHardenedImageSpec({ role: "storage" });
    for (const p of [
      "postgresql-15",
      "mariadb-server",
      "galera-4",
      "mariadb-backup",
      "rsync",
      "stunnel4",
      "socat",
    ])
      assert.ok(storage.packages.includes(p), p);
    const compute = resolveHardenedImageSpec({ role: "compute" });
    assert.deepEqual(
      compute.packages.filter((p) => /^(postgres|mariadb|galera|mysql)/.test(p)), // clients such as python3-pymysql are not databases
      [],
    );
    for (const p of BASE_PACKAGES) assert.ok(compute.packages.includes(p), p);
  });

  it("carries scikit-learn on compute with pythran (and the compiler it needs) stood in for, never installed", () => {
    const compute = resolveHardenedImageSpec({ role: "compute" });
    assert.ok(compute.packages.includes("python3-sklearn"));
    assert.deepEqual(
      compute.standIns.map((s) => [s.name, s.provides]),
      [["zeroroot-no-pythran", ["python3-pythran"]]],
    );
    // the real package stays unwanted: the image check fails if apt picks it after all
    assert.ok(compute.unwantedPackages.includes("python3-pythran"));
    // only compute has stand-ins; each provides only unwanted packages, never one the spec asks for
    for (const role of SERVER_ROLES) {
      const spec = resolveHardenedImageSpec({ role });
      if (role !== "compute") assert.deepEqual(spec.standIns, [], role);
      for (const s of spec.standIns) {
        assert.match(s.name, /^zeroroot-no-[a-z0-9-]+$/);
        for (const p of s.provides) {
          assert.ok(spec.unwantedPackages.includes(p), `${role}: ${p} is not unwanted`);
          assert.ok(!spec.packages.includes(p), `${role}: ${p} is asked for`);
        }
      }
    }
    assert.notEqual(specHash(compute), specHash({ ...compute, standIns: [] }));
  });

  it("opens the role's ports in the default-deny firewall, never 22, and only those of its role", () => {
    const storage = resolveHardenedImageSpec({ role: "storage" });
    assert.equal(storage.firewall.inputPolicy, "drop");
    assert.ok(storage.firewall.allowedTcpPorts.includes(POSTGRESQL_PORT));
    assert.ok(!storage.firewall.allowedTcpPorts.includes(22));
    // compute: only the ports users' Dask schedulers and workers may listen on
    const compute = resolveHardenedImageSpec({ role: "compute" }).firewall.allowedTcpPorts;
    assert.deepEqual(
      [compute[0], compute[compute.length - 1], compute.length],
      [COMPUTE_PORTS.first, COMPUTE_PORTS.last, 64],
    );
    assert.ok(!compute.includes(22) && !compute.includes(POSTGRESQL_PORT));
  });

  it("gives every role its own spec hash (its own cached image), different from the base", () => {
    const hashes = SERVER_ROLES.map((role) => specHash(resolveHardenedImageSpec({ role })));
    hashes.push(specHash(resolveHardenedImageSpec()));
    assert.equal(new Set(hashes).size, hashes.length);
    assert.equal(resolveHardenedImageSpec().role, "base");
  });

  it("lists no forbidden package (SSH, compilers, escalation tools) for any role", () => {
    for (const role of SERVER_ROLES)
      for (const p of ROLE_IMAGES[role].packages)
        assert.equal(forbiddenReason(p), undefined, `${role}: ${p}`);
  });

  it("removes Debian's default clusters and the snakeoil key from the storage image", () => {
    const storage = resolveHardenedImageSpec({ role: "storage" });
    assert.ok(storage.removedPaths.includes("/etc/ssl/private/ssl-cert-snakeoil.key"));
    assert.ok(storage.removedPaths.includes("/var/lib/postgresql/15/main"));
    // perl is kept out of the base but the storage packages need it: asked for, so wanted
    assert.ok(!storage.unwantedPackages.includes("perl"));
    assert.ok(resolveHardenedImageSpec().unwantedPackages.includes("perl"));
  });

  it("keeps systemd out of the storage image (stunnel4's sysusers need is met by the standalone one)", () => {
    const storage = resolveHardenedImageSpec({ role: "storage" });
    assert.ok(storage.packages.includes("systemd-standalone-sysusers"));
    assert.ok(storage.unwantedPackages.includes("systemd"));
    assert.ok(!resolveHardenedImageSpec().unwantedPackages.includes("systemd"), "the base spec is unchanged");
  });

  const hostile: [string, unknown][] = [
    ["an unknown role", "database"],
    ["a role in capitals", "STORAGE"],
    ["a number", 1],
    ["an object's key", "__proto__"],
  ];
  for (const [what, role] of hostile)
    it(`refuses ${what} with where, what and how to fix`, () => {
      assert.throws(
        () => resolveHardenedImageSpec({ role } as unknown as HardenedImageArgs),
        (e: unknown) =>
          e instanceof HardeningSpecError &&
          e.issues.length === 1 &&
          e.issues[0].path === "role" &&
          e.issues[0].received === JSON.stringify(role) &&
          /storage, compute, backup/.test(e.issues[0].allowed),
      );
    });
});
