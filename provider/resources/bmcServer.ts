/**
 * BmcServer: a server driven through its BMC (lib/ipmi) and its site's services (lib/site) —
 * netboot, install, enrollment, boot from disk — with lib/provision, the code the lab runs too.
 * `read` asks the BMC what is true now (power, boot device), so `pulumi refresh` shows a server
 * powered off or set to netboot by hand, and the next update converges it back. `delete` powers
 * the server off; the disk and its data stay (wiping is a human decision). The components make
 * deletion an explicit decommission (retainOnDelete, protect: components/fleet/server.ts).
 *
 * A MAC change (a NIC replaced, a card added) is an in-place update, never a replacement: a
 * replacement would delete, i.e. power off, a running server. The MAC matters only to a PXE
 * install (the site binds an armed install's token to the PXE MAC), and provisioning arms every
 * install with the current first MAC, so an install still pending is re-armed for the new one and
 * an installed server keeps running. Only a new `serverId` (another identity) replaces.
 */
import { ALLOWED_CIPHER_SUITES, IpmitoolBmcClient, type CipherSuite } from "../../lib/ipmi";
import { readBmc } from "../../lib/drift/observe/bmc";
import { provisionServer } from "../../lib/provision";
import { SiteClient } from "../../lib/site";
import { RESOURCE_DEFAULTS, resourceType } from "../../lib/contracts/resources";
import { Checker, shown } from "../checks";
import { checkAddress, checkRoot, rootOf } from "../config";
import { importedBmcProps } from "./bmcServerImport";
import { readOperatorIdentity } from "../operator-identity";
import { changedKeys, inputsOf, type Handler, type Props } from "../types";

const INPUTS = [
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
  "rootCertificateSha256",
  "phaseTimeoutSeconds",
] as const;
const REPLACES = ["serverId"];
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

type Bmc = { address: string; port: number; username: string; password: string; cipherSuite: CipherSuite };

function bmcOf(p: Props): IpmitoolBmcClient {
  // Outputs do not repeat inputs: the BMC is known only when the engine sends the old inputs.
  if (!p.bmc)
    throw new Error(
      `BmcServer ${String(p.serverId ?? "")}: no BMC inputs reached the plugin; use a Pulumi CLI that sends old inputs (DiffRequest/UpdateRequest/DeleteRequest old_inputs)`,
    );
  const b = p.bmc as Bmc;
  return new IpmitoolBmcClient({
    serverId: String(p.serverId),
    address: b.address,
    port: b.port,
    username: b.username,
    password: b.password,
    cipherSuite: b.cipherSuite,
  });
}

async function converge(p: Props): Promise<Props> {
  const bmc = bmcOf(p);
  if (p.power === "off") {
    // An explicitly stopped server: boot device as asked, power off, nothing installed.
    await bmc.setBootDevice(p.bootDevice === "pxe" ? "pxe" : "disk", { persistent: true });
    await bmc.setPower("off");
    return { ...inputsOf(p, INPUTS), ...(await observe(bmc)) };
  }
  const site = new SiteClient({
    url: String(p.siteUrl),
    serverName: String(p.siteServerName),
    trust: rootOf(p),
    identity: readOperatorIdentity(),
    timeoutMs: 30_000,
  });
  const r = await provisionServer(
    bmc,
    site,
    { serverId: String(p.serverId), hostname: String(p.hostname), mac: (p.macs as string[])[0] },
    { phaseTimeoutMs: Number(p.phaseTimeoutSeconds) * 1000 },
  );
  return {
    ...inputsOf(p, INPUTS),
    observedPower: r.power,
    observedBootDevice: r.bootDevice,
    certificateSubject: r.certificate.subject,
    certificateIssuer: r.certificate.issuer,
    // Subject, issuer and serial identify the certificate (revocation is by serial); the PEM itself
    // stays at the site and on the node, not in every stack's state (~0.8 KB a server).
    certificateSerial: r.certificate.serial,
    agentUser: r.agentUser,
    listeningTcpPorts: [...r.listeningTcpPorts],
  };
}

/** The same observer as `zeroroot drift` (lib/drift/observe), so refresh and drift agree. */
async function observe(bmc: IpmitoolBmcClient) {
  const seen = await readBmc(bmc);
  return { observedPower: seen.power, observedBootDevice: seen.bootDevice };
}

function onlyCredentialChanged(olds: Props, news: Props): boolean {
  const login = (p: Props) => ({ ...(p.bmc as Props), username: undefined, password: undefined });
  return (
    changedKeys(olds, news, INPUTS).join() === "bmc" &&
    JSON.stringify(login(olds)) === JSON.stringify(login(news))
  );
}

export const bmcServer: Handler = {
  token: resourceType("BmcServer"),
  secretInputs: [["bmc", "password"]],
  // The site and the root are the data center's: the provider's configuration holds them once.
  configured: ["rootCertificateSha256", "siteUrl", "siteServerName"],
  check(news) {
    const inputs: Props = {
      ...news,
      bootDevice: news.bootDevice ?? "disk",
      power: news.power ?? "on",
      phaseTimeoutSeconds: news.phaseTimeoutSeconds ?? RESOURCE_DEFAULTS.phaseTimeoutSeconds,
    };
    const c = new Checker(inputs);
    c.text("serverId", 63);
    c.text("dataCenter", 63);
    c.text("hostname", 253);
    c.texts("macs", 8);
    const macs = Array.isArray(inputs.macs) ? inputs.macs : [];
    if (macs.length === 0) c.fail("macs", "macs is empty; give the PXE interface's MAC first");
    macs.forEach((m, i) => {
      if (!MAC.test(String(m))) c.fail(`macs[${i}]`, `macs[${i}] is ${shown(m)}; give aa:bb:cc:dd:ee:ff`);
    });
    const b = (inputs.bmc ?? {}) as Props;
    const bc = new Checker(b);
    bc.text("address", 253);
    bc.int("port", 1, 65535);
    bc.text("username", 16);
    bc.text("password", 20);
    bc.oneOf("cipherSuite", ALLOWED_CIPHER_SUITES);
    bc.oneOf("ipmiVersion", ["2.0"]);
    // The password's value is never shown: only that it is wrong.
    for (const f of bc.failures)
      c.fail(
        `bmc.${f.property}`,
        f.property === "password" ? "bmc.password: give 1-20 bytes" : `bmc.${f.reason}`,
      );
    c.oneOf("bootDevice", ["pxe", "disk"]);
    c.oneOf("power", ["on", "off"]);
    checkAddress(c, inputs, "siteUrl", "correct the BmcServer's siteUrl");
    checkAddress(c, inputs, "siteServerName", "correct the BmcServer's siteServerName");
    checkRoot(c, inputs);
    c.int("phaseTimeoutSeconds", 1, 86_400);
    return c.result(inputs);
  },
  diff(_id, olds, news) {
    const replaces = changedKeys(olds, news, REPLACES);
    const updates = changedKeys(
      olds,
      news,
      INPUTS.filter((k) => !REPLACES.includes(k)),
    );
    return { replaces, updates, deleteBeforeReplace: true };
  },
  async create(inputs) {
    return { id: String(inputs.serverId), outs: await converge(inputs) };
  },
  async read(stateId, stored) {
    // An import carries the id only: it names the BMC, the login comes from the environment.
    const props = stored.bmc ? stored : importedBmcProps(stateId);
    const id = stored.bmc ? stateId : String(props.serverId);
    const seen = await observe(bmcOf(props));
    // What is true now stands in the input-named fields too, so the next update sees the drift.
    const observed: Props = {
      ...props,
      ...seen,
      power: seen.observedPower,
      bootDevice: seen.observedBootDevice,
    };
    return { id, props: observed, inputs: inputsOf(observed, INPUTS) };
  },
  async update(_id, olds, news) {
    // A rotated BMC credential (BmcCredential) changes nothing on the server: check the new login
    // reads the BMC and keep the rest, never re-provision or power-cycle for it.
    if (onlyCredentialChanged(olds, news))
      return { ...olds, ...inputsOf(news, INPUTS), ...(await observe(bmcOf(news))) };
    return converge(news);
  },
  async delete(_id, props) {
    await bmcOf(props).setPower("off");
  },
};
