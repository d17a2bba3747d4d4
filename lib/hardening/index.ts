export * from "./spec";
export * from "./errors";
export * from "./forbidden";
export * from "./tuning";
export * from "./render";
export * from "./check";
export * from "./partitions";
export * from "./ssh-deny";
