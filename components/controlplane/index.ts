export * from "./controlPlane";
