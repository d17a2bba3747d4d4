export {
  defaultNetPlan,
  validateNetPlan,
  netNames,
  allNamespaces,
  isLabNamespace,
  DEFAULT_PREFIX,
  IFACE,
} from "./plan";
export type { LabNetPlan, DcNetPlan, ServerNetPlan, NetNames, DcNames } from "./plan";
export { labNetUp, labNetDown, labNetStatus, listNamespaces, inNamespace } from "./netns";
export type { NetUpResult, NetDownResult, NetStatus } from "./netns";
