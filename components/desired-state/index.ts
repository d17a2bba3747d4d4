export * from "./desiredState";
