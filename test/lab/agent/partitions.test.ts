/**
 * A partition's supervisord runs only while the partition holds an instance: the bundled agent (uid
 * 2000, no capabilities) asks the image's real PID 1 (agents/init/zr-init.py, in its own PID and mount
 * namespaces) to start it when an instance is placed there and to stop it once the instance is
 * removed and its data wiped. Real etcd, real supervisord. Needs root.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { partitionUid } from "../../../lib/hardening";
import { AgentLab, canRunLab, partitionPrograms, waitFor, type ReleaseRef } from "./harness";
import { partitionSupervisords } from "./helpers";

const running = (lab: AgentLab) => [0, 1, 2].filter((i) => partitionSupervisords(lab, i).length > 0);

(canRunLab() ? describe : describe.skip)(
  "partition supervisords on demand (agent + PID 1, lab)",
  function () {
    this.timeout(180_000);
    const lab = new AgentLab({ partitions: 3, init: true });
    let web: ReleaseRef;

    before(async () => {
      await lab.start();
      web = await lab.publishRelease(lab.makeRelease("web", "1.0.0", 18180));
      lab.startAgent();
    });

    after(async () => {
      await lab.close();
    });

    afterEach(function () {
      if (this.currentTest?.state !== "failed") return;
      for (const f of [lab.agentLog, lab.init?.logFile])
        if (f && fs.existsSync(f)) console.log(fs.readFileSync(f, "utf8").split("\n").slice(-30).join("\n"));
    });

    it("runs no partition supervisord while no partition holds an instance", async () => {
      await waitFor(async () => (await lab.status()) !== undefined, 30_000, "the agent's first report");
      assert.deepEqual(running(lab), []);
    });

    it("starts the partition's supervisord, as the partition's uid, when an instance is placed there", async () => {
      await lab.putDesired([lab.instance("web-1", web, 1)]);
      const prog = await waitFor(
        () => partitionPrograms(lab, 1).find((p) => p.cmdline.includes("http.server")),
        60_000,
        "web-1 serving in zr-p001",
      );
      assert.equal(prog.uid, partitionUid(1));
      assert.deepEqual(running(lab), [1], "only the partition that holds an instance");
    });

    it("stops it once the instance is removed and its partition wiped", async () => {
      await lab.putDesired([]);
      await waitFor(() => running(lab).length === 0, 60_000, "zr-p001's supervisord gone");
      // the agent logs both once the supervisord no longer answers: a moment after it is gone
      const log = await waitFor(
        () => {
          const text = fs.readFileSync(lab.agentLog, "utf8");
          return /instance web-1 destroyed/.test(text) && text;
        },
        10_000,
        "the agent's log of the destroy",
      );
      assert.match(log, /instance web-1 destroyed \(partition zr-p001 wiped\)/);
      assert.match(log, /partition zr-p001: empty, supervisord stopped \(ok stopping zr-p001 pid \d+\)/);
    });

    it("starts it again for the next instance placed there", async () => {
      await lab.putDesired([lab.instance("web-2", web, 1)]);
      await waitFor(
        () => partitionPrograms(lab, 1).find((p) => p.cmdline.includes("http.server")),
        60_000,
        "web-2 serving in zr-p001",
      );
      assert.deepEqual(running(lab), [1]);
    });
  },
);
