/**
 * How a client is told where a site (or a control-plane member) is: an https origin
 * (`https://host[:port]`) and the DNS name its certificate must carry, judged without zod so that
 * the node agent's bundle (lib/agent/config.ts) applies the same rule as the provider plugin
 * (provider/config.ts, through the schemas of lib/site/address.ts). Each problem is worded as a
 * reason that follows the value received; `…_ALLOWED` says what is allowed.
 *
 * Why so strict: the client builds every request as `new URL(route, origin)`, which drops a path
 * silently and sends a user name and password in the URL as an Authorization header; WHATWG URL
 * parsing removes tabs and newlines, so `https://site\n.example` would quietly become another host.
 * Everything is refused before it can reach a URL parser.
 */
import { isIPv4, isIPv6 } from "node:net";

/** A fully qualified, lower-case host name: RFC 1123 labels, the last one starting with a letter. */
export const HOSTNAME_PATTERN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_HOSTNAME_LENGTH = 253;

export const isHostname = (v: string): boolean => v.length <= MAX_HOSTNAME_LENGTH && HOSTNAME_PATTERN.test(v);

/** `https://` + a 253-character DNS name + `:65535`, with room to spare. */
export const MAX_HTTPS_ORIGIN_LENGTH = 300;
export const MAX_SERVER_NAME_LENGTH = MAX_HOSTNAME_LENGTH;

export const HTTPS_ORIGIN_ALLOWED = `https://<IP address or DNS name>[:port] such as https://10.77.1.2:8443, lower case, at most ${MAX_HTTPS_ORIGIN_LENGTH} characters, with no user, password, path, query or fragment`;
export const SERVER_NAME_ALLOWED = `a fully qualified, lower-case DNS name such as site.dc1.example.com, at most ${MAX_SERVER_NAME_LENGTH} characters (no IP address, wildcard, port or trailing dot)`;

/** Anything but printable ASCII: controls, spaces, DEL, and every non-ASCII character (bidi, homoglyphs). */
const NOT_PRINTABLE_ASCII = /[^\x21-\x7e]/;

/** Why `v` is not an https origin, or undefined. */
export function httpsOriginProblem(v: string): string | undefined {
  if (v.length === 0) return "empty";
  if (v.length > MAX_HTTPS_ORIGIN_LENGTH) return `longer than ${MAX_HTTPS_ORIGIN_LENGTH} characters`;
  // First, whatever the scheme: a URL with a user or password is named as such.
  if (/^[^/?#]*\/\/[^/?#]*@/.test(v))
    return "it carries a user name or password; peers authenticate by certificate, never in the URL";
  if (NOT_PRINTABLE_ASCII.test(v)) return "it holds a space, a control character or a non-ASCII character";
  if (!v.startsWith("https://")) return "not an https:// URL (site and control plane speak TLS only)";
  const rest = v.slice("https://".length).replace(/\/$/, "");
  const authority = rest.split(/[/?#]/)[0];
  if (authority !== rest) return "it has a path, query or fragment; give the origin only";
  const m = /^(?:\[([^\]]*)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return "not host[:port]";
  const [, ipv6, host, port] = m;
  // A zone (`%eth0`) names an interface of the client's machine, and URL parsing refuses it.
  const ipv6Ok = (a: string) => /^[0-9a-f:.]+$/.test(a) && isIPv6(a);
  if (ipv6 !== undefined ? !ipv6Ok(ipv6) : !isIPv4(host) && !isHostname(host))
    return "its host is neither an IP address nor a fully qualified, lower-case DNS name";
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return "its port is outside 1-65535";
  return undefined;
}

/** Why `v` is not a DNS name a TLS client may ask for (RFC 6066 server name), or undefined. */
export function serverNameProblem(v: string): string | undefined {
  if (v.length === 0) return "empty";
  if (v.length > MAX_SERVER_NAME_LENGTH) return `longer than ${MAX_SERVER_NAME_LENGTH} characters`;
  if (NOT_PRINTABLE_ASCII.test(v)) return "it holds a space, a control character or a non-ASCII character";
  if (isIPv4(v) || isIPv6(v.replace(/^\[(.*)\]$/, "$1")))
    return "an IP address; a TLS server name is a DNS name (put the address in the URL)";
  if (v.includes("*")) return "a wildcard; give the one name the site's certificate carries";
  if (v.endsWith(".")) return "it ends with a dot; give the name without it";
  if (v !== v.toLowerCase()) return "it has upper-case letters; give it in lower case";
  if (!isHostname(v)) return "not a fully qualified DNS name";
  return undefined;
}
