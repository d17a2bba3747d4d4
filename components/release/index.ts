export * from "./softwareRelease";
