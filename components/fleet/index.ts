export * from "./dataCenter";
export * from "./server";
export * from "./bmcCredential";
