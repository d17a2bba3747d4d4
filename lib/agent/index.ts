/**
 * lib/agent: the node agent's pure logic (no I/O but parsing): its configuration and trust files, the
 * reconcile plan, the minimum persistence guard, release checks, supervisord rendering, /proc parsing,
 * the abnormal-usage detector, and datastore refusals read from their logs. The program that runs it
 * is agents/node. See docs/agent.md.
 */
export * from "./config";
export * from "./state";
export * from "./persistence";
export * from "./plan";
export * from "./render";
export * from "./procfs";
export * from "./anomaly";
export * from "./releases";
export * from "./protocol";
export * from "./identity";
export * from "./local-state";
export * from "./freshness";
export * from "./crl-screen";
export * from "./datastore-refusals";
export * from "./refusal-windows";
