export * from "./dataCenter";
export * from "./server";
