/** The fleet inventory: typed stack configuration, its validation, and address arithmetic. */
export * from "./issues";
export * from "./schema";
export * from "./bmc-credentials";
export * from "./validate";
export * from "./stack-file";
export * from "./fleet-checks";
export { contains, overlaps, parseCidr, type Cidr } from "./net";
export * from "./project";
export * from "./services";
export * from "./services-releases";
export * from "./data-access";
export * from "./clusters";
export * from "./datastore-parameters";
export { CONFIG_BOUNDS, PROTOTYPE_KEYS } from "./safety";
