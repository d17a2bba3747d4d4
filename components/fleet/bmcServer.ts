/**
 * BmcServer: a server driven through its BMC and its site's services — netboot, install,
 * enrollment, boot from disk — by a dynamic provider over lib/provision and lib/ipmi, so
 * `pulumi up` and the lab run the same code. The BMC password is a secret input; the operator's
 * client certificate for the site API is read at deploy time (components/operator-identity.ts:
 * ZEROROOT_OPERATOR_CERT and ZEROROOT_OPERATOR_KEY, default ~/.zeroroot/operator.{crt,key}), so
 * neither key nor path enters Pulumi state.
 */
import * as pulumi from "@pulumi/pulumi";
import { dynamicType, type BmcServerInputs } from "../../lib/contracts/resources";
import { readOperatorIdentity } from "../operator-identity";
import { projectModule } from "../project-module";

export const BMC_SERVER_TYPE = dynamicType("BmcServer");

export interface BmcServerArgs extends Omit<BmcServerInputs, "bmc"> {
  readonly bmc: Omit<BmcServerInputs["bmc"], "password"> & { readonly password: pulumi.Output<string> };
  /** https://address:port of the data center's site services. */
  readonly siteUrl: string;
  /** Name in the site's certificate. */
  readonly siteServerName: string;
  /** Root CA the site's certificate must chain to. */
  readonly rootCertificatePem: pulumi.Input<string>;
  /** @default 600 */
  readonly phaseTimeoutSeconds?: number;
}

type Props = BmcServerInputs & {
  siteUrl: string;
  siteServerName: string;
  rootCertificatePem: string;
  phaseTimeoutSeconds: number;
};

/** Everything the provider reads at deploy time is here, so the serialised closure stays small. */
function connect(p: Props) {
  const identity = readOperatorIdentity();
  const { SiteClient } = projectModule<typeof import("../../lib/site")>("lib/site");
  const { IpmitoolBmcClient } = projectModule<typeof import("../../lib/ipmi")>("lib/ipmi");
  const site = new SiteClient({
    url: p.siteUrl,
    serverName: p.siteServerName,
    trust: p.rootCertificatePem,
    identity,
    timeoutMs: 30_000,
  });
  const bmc = new IpmitoolBmcClient({
    serverId: p.serverId,
    address: p.bmc.address,
    port: p.bmc.port,
    username: p.bmc.username,
    password: p.bmc.password,
    cipherSuite: p.bmc.cipherSuite,
  });
  return { site, bmc };
}

async function converge(p: Props) {
  const { site, bmc } = connect(p);
  const { provisionServer } = projectModule<typeof import("../../lib/provision")>("lib/provision");
  const r = await provisionServer(
    bmc,
    site,
    { serverId: p.serverId, hostname: p.hostname, mac: p.macs[0] },
    { phaseTimeoutMs: p.phaseTimeoutSeconds * 1000 },
  );
  return {
    ...p,
    observedPower: r.power,
    observedBootDevice: r.bootDevice,
    certificateSubject: r.certificate.subject,
    certificateIssuer: r.certificate.issuer,
    certificateSerial: r.certificate.serial,
    certificatePem: r.certificate.pem,
    agentUser: r.agentUser,
    listeningTcpPorts: [...r.listeningTcpPorts],
  };
}

export const bmcServerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Props) {
    return { id: inputs.serverId, outs: await converge(inputs) };
  },
  async diff(_id: string, olds: Props, news: Props) {
    const replaces = (["serverId", "macs"] as const).filter(
      (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
    const changes = INPUT_KEYS.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes, replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, _olds: Props, news: Props) {
    return { outs: await converge(news) };
  },
  async delete(_id: string, props: Props) {
    // The disk (and its data) stays: only power is removed. Wiping is a human decision.
    const { bmc } = connect(props);
    await bmc.setPower("off");
  },
};

const INPUT_KEYS = [
  "serverId",
  "dataCenter",
  "hostname",
  "macs",
  "bmc",
  "bootDevice",
  "power",
  "siteUrl",
  "siteServerName",
  "rootCertificatePem",
  "phaseTimeoutSeconds",
] as const;

export class BmcServer extends pulumi.dynamic.Resource {
  declare public readonly observedPower: pulumi.Output<string>;
  declare public readonly observedBootDevice: pulumi.Output<string>;
  declare public readonly certificateSubject: pulumi.Output<string>;
  declare public readonly certificateIssuer: pulumi.Output<string>;
  declare public readonly certificatePem: pulumi.Output<string>;
  declare public readonly agentUser: pulumi.Output<string>;

  constructor(name: string, args: BmcServerArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      bmcServerProvider,
      name,
      {
        ...args,
        phaseTimeoutSeconds: args.phaseTimeoutSeconds ?? 600,
        observedPower: undefined,
        observedBootDevice: undefined,
        certificateSubject: undefined,
        certificateIssuer: undefined,
        certificateSerial: undefined,
        certificatePem: undefined,
        agentUser: undefined,
        listeningTcpPorts: undefined,
      },
      { ...opts, additionalSecretOutputs: ["bmc"] },
      "zeroroot",
      "BmcServer",
    );
  }
}
