"""Per-partition egress rules, loaded by PID 1 when the node agent asks (`egress NAME`, `egress-clear NAME`).

The agent (unprivileged) cannot load nftables. It writes the partition's rules to
`<egress dir>/<NAME>.rules` (a directory of its own) and asks PID 1 to load them; the request line
names only the partition. PID 1 never hands the agent's text to nft. It re-reads the file and refuses
the whole request unless:

- the file is a regular file (opened without following a symlink), owned by the agent's uid, with one
  link, writable by nobody else, at most MAX_RULES_BYTES and MAX_RULES lines;
- every line is exactly `meta skuid <uid> ip daddr <addr> tcp dport <port> accept` (or `ip6 daddr`),
  printable ASCII, single spaces, where <uid> is the partition's own uid (from init.json, never from
  the request), <addr> a canonical address inside the allowed networks (init.json `egress.networks`:
  never loopback, link-local, multicast or unspecified) and <port> 1-65535 without leading zeros.

It then writes the nftables text itself from the parsed numbers and addresses: a table of the
partition's own (`inet zr_egress_<uid>`, replaced whole in one transaction) whose output chain
accepts replies (established, related), the listed endpoints for the uid, then drops and counts
(`zr-drop-<uid>`) every other packet the uid sends. `egress-clear` deletes the table. A `start` of a
partition whose rules file exists loads it first (zr-init.py), so after a reboot its programs never
run unrestricted.
"""
import ipaddress
import os
import re
import stat
import subprocess

MAX_RULES_BYTES = 64 * 1024
MAX_RULES = 512
NFT_SECONDS = 10
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
RULE = re.compile(r"meta skuid ([0-9]{1,5}) (ip|ip6) daddr ([0-9a-f.:]{2,45}) tcp dport ([0-9]{1,5}) accept")
# Addresses a partition may never be granted, whatever the configured networks say.
NEVER = ("is_loopback", "is_link_local", "is_multicast", "is_unspecified", "is_reserved")


class EgressRefused(ValueError):
    """A request refused: the message says why, with at most a cut and escaped piece of the input."""


def shown(raw):
    return repr(raw[:60])[1:-1] if isinstance(raw, str) else repr(raw[:60])


def parse_rules(data, uid, networks):
    """The (version, address, port) triples of a rules file, or raises EgressRefused naming the line."""
    if len(data) > MAX_RULES_BYTES:
        raise EgressRefused(f"rules file longer than {MAX_RULES_BYTES} bytes")
    if data and not data.endswith(b"\n"):
        raise EgressRefused("rules file not terminated by a newline")
    lines = data.split(b"\n")[:-1] if data else []
    if len(lines) > MAX_RULES:
        raise EgressRefused(f"{len(lines)} rules; at most {MAX_RULES}")
    rules = []
    for n, raw in enumerate(lines, 1):
        if any(b < 0x20 or b > 0x7E for b in raw):
            raise EgressRefused(f"line {n}: {shown(raw)} holds bytes other than printable ASCII")
        line = raw.decode("ascii")
        m = RULE.fullmatch(line)
        if not m:
            raise EgressRefused(
                f"line {n}: {shown(line)} is not 'meta skuid <uid> ip daddr <address> tcp dport <port> accept'"
            )
        skuid, family, text, port = m.groups()
        if skuid != str(uid):
            raise EgressRefused(f"line {n}: uid {skuid} is not this partition's uid {uid}")
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise EgressRefused(f"line {n}: {shown(text)} is not an IP address") from None
        if str(address) != text or family != ("ip" if address.version == 4 else "ip6"):
            raise EgressRefused(f"line {n}: {shown(text)} is not a canonical {family} address")
        if any(getattr(address, p) for p in NEVER) or not any(address in net for net in networks):
            raise EgressRefused(
                f"line {n}: {text} is outside the platform's data networks ({', '.join(map(str, networks))})"
            )
        if str(int(port)) != port or not 1 <= int(port) <= 65535:
            raise EgressRefused(f"line {n}: port {port} is not a TCP port from 1 to 65535")
        rules.append((address.version, str(address), int(port)))
    return sorted(set(rules))


def read_rules_file(path, agent_uid):
    """The file's bytes, read only if it is the agent's own regular file; EgressRefused otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise EgressRefused(f"no rules file {path}") from None
    except OSError as e:
        raise EgressRefused(f"cannot open {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise EgressRefused(f"{path} is not a regular file")
        if st.st_uid != agent_uid or st.st_nlink != 1 or st.st_mode & 0o022:
            raise EgressRefused(f"{path} must be the agent's (uid {agent_uid}), with one link, writable by no one else")
        if st.st_size > MAX_RULES_BYTES:
            raise EgressRefused(f"rules file longer than {MAX_RULES_BYTES} bytes")
        return os.read(fd, MAX_RULES_BYTES + 1)
    finally:
        os.close(fd)


def table(uid):
    return f"zr_egress_{uid}"


def render(uid, rules):
    """nftables text built from parsed values only: replaces the partition's table in one transaction."""
    t, counter = table(uid), f"zr-drop-{uid}"
    accept = [f"\t\tmeta skuid {uid} {'ip' if v == 4 else 'ip6'} daddr {a} tcp dport {p} accept" for v, a, p in rules]
    return "\n".join(
        [
            f"table inet {t}",
            f"delete table inet {t}",
            f"table inet {t} {{",
            f"\tcounter {counter} {{",
            "\t}",
            "\tchain output {",
            "\t\ttype filter hook output priority filter; policy accept;",
            "\t\tct state established,related accept",
            *accept,
            f'\t\tmeta skuid {uid} counter name "{counter}" drop',
            "\t}",
            "}",
            "",
        ]
    )


def nft(text):
    """Feeds `text` to nft on stdin (no file PID 1 would have to trust); the error, or None."""
    try:
        r = subprocess.run(["/usr/sbin/nft", "-f", "-"], input=text.encode("ascii"), capture_output=True, timeout=NFT_SECONDS)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    # one line: the answer to the agent is one line
    return None if r.returncode == 0 else " | ".join(r.stderr.decode(errors="replace").split("\n"))[:300]


class Egress:
    """Handles `egress NAME` and `egress-clear NAME` for the known partitions (NAME already validated)."""

    def __init__(self, cfg, agent_uid, uid_of, log, changed=lambda: None):
        self.dir = cfg["dir"]
        self.networks = [ipaddress.ip_network(n) for n in cfg["networks"]]
        self.agent_uid = agent_uid
        self.uid_of = uid_of
        self.log = log
        self.changed = changed

    def has_rules(self, name):
        """Whether the agent left rules for the partition (a link counts: loading it is then refused)."""
        return bool(NAME.fullmatch(name)) and os.path.lexists(os.path.join(self.dir, f"{name}.rules"))

    def handle(self, op, name):
        if not NAME.fullmatch(name):  # names come from init.json; this keeps a path out all the same
            raise EgressRefused(f"{shown(name)} cannot name a rules file")
        uid = self.uid_of(name)
        if op == "egress-clear":
            error = nft(f"table inet {table(uid)}\ndelete table inet {table(uid)}\n")
            if error:
                raise EgressRefused(f"nft failed: {error}")
            self.log(f"egress: {name} (uid {uid}) unrestricted")
            self.changed()
            return f"egress cleared {name}"
        path = os.path.join(self.dir, f"{name}.rules")
        try:
            rules = parse_rules(read_rules_file(path, self.agent_uid), uid, self.networks)
        except EgressRefused as e:
            self.log(f"egress: refused rules for {name}: {e}")
            raise
        error = nft(render(uid, rules))
        if error:
            self.log(f"egress: nft refused the rules of {name}: {error}")
            raise EgressRefused(f"nft failed: {error}")
        self.log(f"egress: {name} (uid {uid}) may open {len(rules)} endpoint(s); everything else dropped")
        self.changed()
        return f"egress {name} {len(rules)} rules"
