/**
 * An SSH server started by hand, for the drift lab test: the `ssh2` library's Server (a complete
 * SSH-2 implementation: key exchange, host key, authentication), listening on port 22 with a host
 * key made for the test, refusing every login. The test runs it as root inside a lab server's
 * network and PID namespaces (nsenter), as an intruder with a shell there would. Debian's
 * openssh-server is not installed on this machine, hence this server rather than sshd.
 *
 *   ssh-daemon.ts <host-key-file> [port]
 */
import { readFileSync } from "node:fs";
import { Server } from "ssh2";

const [keyFile, port = "22"] = process.argv.slice(2);
const server = new Server({ hostKeys: [readFileSync(keyFile)] }, (client) => {
  client.on("authentication", (ctx) => ctx.reject());
  client.on("error", () => undefined);
});
server.listen(Number(port), "0.0.0.0", () => process.stdout.write(`listening on ${port}\n`));
