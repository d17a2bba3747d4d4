/**
 * The site route through which a node obtains an instance's service certificate: the key is made on
 * the node, only the CSR travels, over mutual TLS with the computer certificate. The site names the
 * certificate itself (`<instance>.<computer hostname>`), whatever the CSR asks, so a computer can only
 * obtain certificates for names under its own hostname.
 */
export const SERVICE_CSR_ROUTE = "/services/csr";

export interface ServiceCsrRequest {
  /** The instance name, as a DNS label: [a-z0-9-], 1-63. */
  readonly instance: string;
  readonly csrPem: string;
}

export interface ServiceCsrResponse {
  readonly certificatePem: string;
  /** Issuing CA certificate then root. */
  readonly chainPem: string;
}

/** An instance name made into one DNS label (lower case; anything else becomes "-"). */
export function serviceLabel(instance: string): string {
  const l = instance
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return l || "instance";
}

export const serviceDnsName = (instance: string, hostname: string): string =>
  `${serviceLabel(instance)}.${hostname}`;
