/** A spec that leaks a child process on purpose: exit-watch.test.ts runs it in its own mocha. */
import { spawn } from "node:child_process";

describe("a test that forgets its child", () => {
  it("starts `sleep 3600` and never stops it", () => {
    spawn("sleep", ["3600"], { stdio: "ignore" });
  });
});
