export * from "./hardenedImage";
