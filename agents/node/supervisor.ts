/**
 * A partition's supervisord, driven over XML-RPC on its unix socket (group-accessible to zr-agent).
 * No supervisorctl: a Python start per call would cost ~0.1 s and, with 100 partitions, most of the
 * agent's CPU. `update()` does what `supervisorctl update` does: reloadConfig, then stop and remove
 * removed or changed groups, then add added or changed ones.
 */
import { request } from "node:http";

export type XmlValue = string | number | boolean | null | XmlValue[] | { [k: string]: XmlValue };

export class SupervisorError extends Error {
  constructor(
    message: string,
    readonly faultCode?: number,
  ) {
    super(message);
    this.name = "SupervisorError";
  }
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const unesc = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, "&");

function encode(v: XmlValue): string {
  if (typeof v === "string") return `<value><string>${esc(v)}</string></value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === "number") return `<value><int>${v}</int></value>`;
  throw new SupervisorError(`cannot encode ${JSON.stringify(v)}`);
}

/** A small XML-RPC response parser: enough for supervisord's answers. Exported for tests. */
export function parseXmlRpc(xml: string): XmlValue {
  const tokens = xml.match(/<[^>]+>|[^<]+/g) ?? [];
  let i = 0;
  const next = () => tokens[i++];
  const skipWs = () => {
    while (i < tokens.length && !tokens[i].startsWith("<") && tokens[i].trim() === "") i++;
  };
  const expect = (tag: string) => {
    skipWs();
    const t = next();
    if (t !== tag) throw new SupervisorError(`XML-RPC: expected ${tag}, got ${t}`);
  };
  function value(): XmlValue {
    // after <value>
    skipWs();
    let t = tokens[i];
    if (!t.startsWith("<")) {
      i++;
      expect("</value>");
      return unesc(t);
    }
    if (t === "</value>") {
      i++;
      return "";
    }
    t = next();
    let out: XmlValue;
    if (t === "<string/>") out = "";
    else if (t === "<array>") {
      expect("<data>");
      const arr: XmlValue[] = [];
      for (;;) {
        skipWs();
        if (tokens[i] === "</data>" || tokens[i] === "<data/>") {
          i++;
          break;
        }
        expect("<value>");
        arr.push(value());
      }
      expect("</array>");
      out = arr;
    } else if (t === "<struct>") {
      const obj: Record<string, XmlValue> = {};
      for (;;) {
        skipWs();
        if (tokens[i] === "</struct>") {
          i++;
          break;
        }
        expect("<member>");
        expect("<name>");
        const name = tokens[i] === "</name>" ? "" : unesc(next());
        expect("</name>");
        expect("<value>");
        obj[name] = value();
        expect("</member>");
      }
      out = obj;
    } else {
      const m = /^<(\w+)>$/.exec(t);
      if (!m) throw new SupervisorError(`XML-RPC: unexpected ${t}`);
      const text = tokens[i].startsWith("<") ? "" : unesc(next());
      expect(`</${m[1]}>`);
      if (m[1] === "int" || m[1] === "i4" || m[1] === "double") out = Number(text);
      else if (m[1] === "boolean") out = text.trim() === "1";
      else if (m[1] === "nil") out = null;
      else out = text;
    }
    expect("</value>");
    return out;
  }
  while (i < tokens.length && tokens[i] !== "<fault>" && tokens[i] !== "<params>") i++;
  if (tokens[i] === "<fault>") {
    i++;
    expect("<value>");
    const f = value() as { faultCode?: number; faultString?: string };
    throw new SupervisorError(`supervisord fault ${f.faultCode}: ${f.faultString}`, f.faultCode);
  }
  if (tokens[i] !== "<params>") throw new SupervisorError("XML-RPC: no params in the answer");
  i++;
  expect("<param>");
  expect("<value>");
  return value();
}

export interface ProcessInfo {
  readonly name: string;
  readonly group: string;
  readonly statename: string;
  readonly pid: number;
  readonly start: number;
}

export class Supervisor {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  call(method: string, ...params: XmlValue[]): Promise<XmlValue> {
    const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params
      .map((p) => `<param>${encode(p)}</param>`)
      .join("")}</params></methodCall>`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path: "/RPC2",
          method: "POST",
          headers: { "content-type": "text/xml", "content-length": Buffer.byteLength(body) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            try {
              resolve(parseXmlRpc(Buffer.concat(chunks).toString("utf8")));
            } catch (e) {
              reject(e as Error);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new SupervisorError(`${this.socketPath}: ${method}: timed out`)));
      req.on("error", (e) => reject(new SupervisorError(`${this.socketPath}: ${method}: ${e.message}`)));
      req.end(body);
    });
  }

  async processes(): Promise<ProcessInfo[]> {
    return (await this.call("supervisor.getAllProcessInfo")) as unknown as ProcessInfo[];
  }

  /** Applies conf.d changes like `supervisorctl update`; returns the groups added, changed and removed. */
  async update(): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
    const r = (await this.call("supervisor.reloadConfig")) as string[][][];
    const [added, changed, removed] = r[0];
    for (const g of [...removed, ...changed]) {
      await this.ignoreFault(() => this.call("supervisor.stopProcessGroup", g, true), [10, 70]);
      await this.call("supervisor.removeProcessGroup", g);
    }
    // ALREADY_ADDED (90): another reload got there first
    for (const g of [...added, ...changed])
      await this.ignoreFault(() => this.call("supervisor.addProcessGroup", g), [90]);
    return { added, changed, removed };
  }

  async stopAll(): Promise<void> {
    await this.call("supervisor.stopAllProcesses", true);
  }

  private async ignoreFault(fn: () => Promise<unknown>, codes: number[]): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof SupervisorError) || !codes.includes(e.faultCode ?? -1)) throw e;
    }
  }
}
