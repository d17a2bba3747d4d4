/**
 * Entry point `pulumi up -s <stack>` runs (Pulumi.yaml `main`). Reads config, validates it,
 * defines the stack. A configuration mistake is reported as a list of errors, not a stack trace.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigValidationError } from "../lib/fleet";
import { configFromEngine } from "./config";
import { defineStack, type StackOutputs } from "./program";

function main(): StackOutputs {
  try {
    return defineStack(configFromEngine(pulumi.getStack(), __dirname));
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      // RunError: the engine prints the message alone, with no stack trace.
      throw new pulumi.RunError(`stack ${pulumi.getStack()}: ${err.message}`);
    }
    throw err;
  }
}

export = main();
