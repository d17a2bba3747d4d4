/** Every command area of the CLI. An area is a module with `register(program)`. */
import type { Command } from "commander";
import * as client from "./client";
import * as drift from "./drift";
import * as fleet from "./fleet";
import * as lab from "./lab";
import * as pki from "./pki";
import * as policy from "./policy";
import * as release from "./release";

export interface CommandModule {
  register(program: Command): void;
}

export const commandModules: readonly CommandModule[] = [fleet, pki, client, policy, drift, release, lab];
