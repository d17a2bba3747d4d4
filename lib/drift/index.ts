/**
 * lib/drift: drift detection's judgement — what the stacks want (desired.ts) against what the
 * observers saw (observed.ts, filled by observe/), the same rule book as the policy pack, noise
 * control, reports (text, JSON, SARIF, HTML), remediation planning and the schedule. See README.md.
 */
export * from "./checks";
export * from "./config";
export * from "./desired";
export * from "./findings";
export * from "./compare";
export * from "./bounds";
export * from "./noise";
export * from "./judge";
export * from "./history";
export * from "./report";
export * from "./sarif";
export * from "./html";
export * from "./chart";
export * from "./remediate";
export * from "./schedule";
export * from "./observed-schema";
export * from "./targets";
export * from "./observed";
