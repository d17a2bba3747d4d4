/**
 * The one zeroroot stack program. The stack file decides what it builds: `zeroroot:global` for the
 * global stack, `zeroroot:dataCenter` for a data-center stack. Config is validated in full by
 * lib/fleet before any resource exists; components receive plain args.
 */
import * as pulumi from "@pulumi/pulumi";
import { DataCenter } from "../components/fleet";
import { RootCa } from "../components/pki";
import { resolveStackConfig, type RawStackConfig, type ResolvedStackConfig } from "../lib/fleet";

export type StackOutputs = Record<string, pulumi.Input<unknown>>;

export function defineStack(raw: RawStackConfig): StackOutputs {
  const config = resolveStackConfig(raw);
  return config.kind === "global" ? defineGlobal(config) : defineDataCenter(config);
}

function defineGlobal(config: Extract<ResolvedStackConfig, { kind: "global" }>): StackOutputs {
  const rootCa = config.global.rootCa;
  const rootCertificatePem =
    rootCa.mode === "offline"
      ? rootCa.certificate
      : new RootCa("root-ca", { commonName: rootCa.commonName ?? `${config.domain} root CA` }).certificatePem;
  return {
    rootCertificatePem,
    domain: config.domain,
    dataCenters: config.global.dataCenters,
    controlPlane: config.global.controlPlane,
  };
}

function defineDataCenter(config: Extract<ResolvedStackConfig, { kind: "dataCenter" }>): StackOutputs {
  const dc = config.dataCenter;
  const global = new pulumi.StackReference(`${dc.name}-global`, { name: config.globalStack });
  // The global stack is the fleet's source of truth for its domain and data centers.
  pulumi.all([global.getOutput("domain"), global.getOutput("dataCenters")]).apply(([domain, names]) => {
    if (domain !== undefined && domain !== config.domain)
      void pulumi.log.error(
        `zeroroot:domain is "${config.domain}" but the global stack ${config.globalStack} has "${String(domain)}"; use one domain for the fleet`,
      );
    if (Array.isArray(names) && !names.includes(dc.name))
      void pulumi.log.error(
        `data center "${dc.name}" is not in the global stack's zeroroot:global.dataCenters (${names.join(", ")}); add it there first`,
      );
  });

  const dataCenter = new DataCenter(dc.name, {
    name: dc.name,
    domain: config.domain,
    managementNetwork: dc.managementNetwork,
    dataNetworks: dc.dataNetworks,
    managementServer: dc.managementServer,
    sitePort: dc.sitePort,
    rootCertificatePem: global.requireOutput("rootCertificatePem") as pulumi.Output<string>,
    servers: dc.servers.map((s) => ({
      id: s.id,
      hostname: s.hostname,
      roles: s.roles,
      address: s.address,
      macs: s.macs,
      bootDisk: s.bootDisk,
      bmc: {
        address: s.bmc.address,
        port: s.bmc.port,
        username: s.bmc.username,
        password: pulumi.secret(s.bmc.password),
        cipherSuite: s.bmc.cipherSuite as 3 | 17,
      },
    })),
  });

  return {
    dataCenter: dc.name,
    zone: dataCenter.zone,
    servers: dataCenter.servers.map((s) => ({
      id: s.serverId,
      hostname: s.hostname,
      address: s.address,
      roles: s.roles,
      bmcEndpoint: s.bmcEndpoint,
    })),
  };
}
