/**
 * lab/controlplane: the lab's 3-member etcd control plane (one member per data center's management
 * namespace, unprivileged, mutual TLS, access plan applied), a throw-away test network, and a probe
 * that runs a control-plane client inside a namespace. See docs/controlplane.md.
 */
export {
  startControlPlane,
  stopControlPlane,
  stopMember,
  startMember,
  startAllMembers,
  controlPlaneHealth,
  readClusterState,
  rootEtcdctl,
  publishRevocations,
  DEFAULT_STATE_DIR,
  type MemberLayout,
  type LabPki,
  type ControlPlaneLabOptions,
  type ClusterState,
  type LabControlPlane,
  type MemberHealth,
} from "./cluster";
export { layoutFromNetPlan } from "./layout";
export { controlPlaneStatus, parseEtcdJson, type ControlPlaneStatus, type MemberStatus } from "./status";
export { memberPid, memberProgram } from "./members";
export {
  etcdRevocationList,
  writeEtcdRevocationList,
  type EtcdRevocationList,
  type RevocationInput,
} from "./revocation";
export {
  issueIdentity,
  writeIdentity,
  readIdentity,
  type IssuedIdentity,
  type IdentityFiles,
} from "./identity";
export { writeHostsEntries, mergeHosts, hostsFileOf } from "./hosts";
export { createTestNet, destroyTestNet, listTestNamespaces, TEST_PREFIX, type TestNet } from "./testnet";
export { Probe, type ProbeAnswer, type ProbeEvent } from "./probe-client";
