/**
 * The lab server's command line, what a BMC simulator's hook calls to power a server on or off:
 *
 *   cli.ts boot <server> --device disk|pxe [--netns NS] [--wait] [--timeout SECONDS]
 *   cli.ts halt <server>
 *   cli.ts status <server> [--json]
 *   cli.ts ps <server> [--json]
 *   cli.ts exec <server> [--uid N] -- <command...>
 *
 * Common: --lab-dir DIR (default $ZEROROOT_LAB_DIR or <repo>/.zeroroot/lab).
 * Exit codes: 0 ok · 1 the server refused (already running, empty disk, failed boot) · 2 usage.
 */
import { bootServer, execInServer, haltServer, serverProcesses, serverStatus } from "./server";
import { ServerError } from "./paths";

const USAGE =
  "usage: cli.ts boot <server> --device disk|pxe [--netns NS] [--wait] [--timeout S] | halt <server> | status <server> [--json] | ps <server> [--json] | exec <server> [--uid N] -- <cmd...>   (all: [--lab-dir DIR])";

class Usage extends Error {}

function parse(argv: string[]) {
  const dd = argv.indexOf("--");
  const rest = dd >= 0 ? argv.slice(dd + 1) : [];
  const args = dd >= 0 ? argv.slice(0, dd) : argv;
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const valued = new Set(["--device", "--netns", "--timeout", "--lab-dir", "--uid"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (valued.has(a)) {
      if (args[i + 1] === undefined) throw new Usage(`${a} needs a value`);
      flags.set(a, args[++i]);
    } else if (a.startsWith("--")) flags.set(a, true);
    else positional.push(a);
  }
  return { positional, flags, rest };
}

async function main(argv: string[]): Promise<number> {
  const { positional, flags, rest } = parse(argv);
  const [cmd, server] = positional;
  if (!cmd || !server) throw new Usage(USAGE);
  const labDir = flags.get("--lab-dir") as string | undefined;
  const json = flags.has("--json");
  switch (cmd) {
    case "boot": {
      const device = flags.get("--device");
      if (device !== "disk" && device !== "pxe")
        throw new Usage(`boot: --device must be disk or pxe (received ${JSON.stringify(device ?? null)})`);
      const timeout = Number(flags.get("--timeout") ?? 30);
      const s = await bootServer(server, {
        device,
        netns: flags.get("--netns") as string | undefined,
        wait: flags.has("--wait"),
        timeoutMs: timeout * 1000,
        labDir,
      });
      process.stdout.write(
        json
          ? JSON.stringify(s) + "\n"
          : `${server}: booted from ${device}, PID 1 is host pid ${s.pid}${s.ready ? ", ready" : ""}\n`,
      );
      return 0;
    }
    case "halt": {
      const r = await haltServer(server, { labDir });
      process.stdout.write(
        json
          ? JSON.stringify(r) + "\n"
          : `${server}: ${r.wasRunning ? `halted in ${r.seconds.toFixed(1)} s${r.forced ? " (forced)" : ""}` : "was not running"}\n`,
      );
      return 0;
    }
    case "status": {
      const s = serverStatus(server, { labDir });
      process.stdout.write(
        json
          ? JSON.stringify(s) + "\n"
          : `${server}: ${s.running ? `running from ${s.device} (pid ${s.pid})${s.ready ? ", ready" : ""}${s.failure ? `, FAILED: ${s.failure}` : ""}` : "off"}; disk ${s.diskInstalled ? "installed" : "empty"}\n`,
      );
      return 0;
    }
    case "ps": {
      const ps = serverProcesses(server, { labDir });
      if (json)
        process.stdout.write(
          JSON.stringify(ps, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)) + "\n",
        );
      else
        for (const p of ps)
          process.stdout.write(
            `${String(p.nsPid).padStart(5)} uid=${p.uids[1]} capeff=${p.capEff.toString(16)} nnp=${p.noNewPrivs ? 1 : 0} ${p.cmdline}\n`,
          );
      return 0;
    }
    case "exec": {
      if (rest.length === 0) throw new Usage("exec: give the command after --");
      const uid = flags.has("--uid") ? Number(flags.get("--uid")) : undefined;
      const r = await execInServer(server, rest, { labDir, uid, allowFailure: true });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code ?? 1;
    }
    default:
      throw new Usage(USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`lab server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof Usage ? 2 : e instanceof ServerError ? 1 : 1);
  },
);
