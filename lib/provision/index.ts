export * from "./install";
