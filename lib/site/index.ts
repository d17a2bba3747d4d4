export * from "./protocol";
export * from "./client";
export * from "./schemas";
export * from "./authorise";
export * from "./crl-files";
