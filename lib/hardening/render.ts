/**
 * Files rendered from the spec into the image: the nftables ruleset, one supervisord config per
 * platform user, and the configuration PID 1 reads.
 */
import {
  AGENT_USER,
  IMAGE_PATHS,
  HardenedFirewall,
  HardenedImageSpec,
  PlatformUser,
  supervisorDir,
} from "./spec";
import { REMOTE_LOGIN_PORTS } from "./spec";

/**
 * Default-deny ruleset: input and forward drop; loopback, established/related and the spec's
 * ports accepted. Remote-login ports are refused again here, so a spec object built by hand
 * (bypassing the validator) still cannot open them.
 */
export function renderNftablesRuleset(fw: HardenedFirewall): string {
  const open = (ports: readonly number[]) => ports.filter((p) => !REMOTE_LOGIN_PORTS[p]);
  const tcp = open(fw.allowedTcpPorts);
  const udp = open(fw.allowedUdpPorts);
  const rules = [
    `iif "lo" accept`,
    `ct state established,related accept`,
    `ct state invalid drop`,
    // IPv6 does not work without neighbour discovery.
    `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept`,
    ...(fw.allowIcmpEcho
      ? [
          `icmp type echo-request limit rate 10/second accept`,
          `icmpv6 type echo-request limit rate 10/second accept`,
        ]
      : []),
    ...(tcp.length > 0 ? [`tcp dport { ${tcp.join(", ")} } ct state new accept`] : []),
    ...(udp.length > 0 ? [`udp dport { ${udp.join(", ")} } accept`] : []),
  ];
  return [
    "#!/usr/sbin/nft -f",
    "# zeroroot hardened image: default deny, rendered from the image spec; applied by PID 1.",
    "flush ruleset",
    "",
    "table inet zeroroot {",
    "  chain input {",
    `    type filter hook input priority filter; policy ${fw.inputPolicy};`,
    ...rules.map((r) => `    ${r}`),
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "  }",
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    "  }",
    "}",
    "",
  ].join("\n");
}

/**
 * A platform user's supervisord: run as that user (never root), socket, log and pid in its home,
 * socket mode 0700 so no other user can drive it (0770 for a partition, whose group holds zr-agent). `conf.d/*.conf` is where the node agent adds the
 * programs of service instances.
 */
export function renderSupervisordConf(user: PlatformUser): string {
  const dir = supervisorDir(user);
  const programs = user.programs.map((p) =>
    [
      `[program:${p.name}]`,
      `command=${p.command}`,
      `directory=${user.home}`,
      `autostart=true`,
      `autorestart=true`,
      `startsecs=1`,
      `stopsignal=TERM`,
      `stopwaitsecs=10`,
      `redirect_stderr=true`,
      `stdout_logfile=${dir}/log/${p.name}.log`,
      `stdout_logfile_maxbytes=1MB`,
      `stdout_logfile_backups=2`,
      `environment=HOME="${user.home}",USER="${user.name}",LOGNAME="${user.name}"`,
      "",
    ].join("\n"),
  );
  return [
    `; zeroroot: supervisord of platform user ${user.name} (uid ${user.uid}), started by PID 1 without capabilities`,
    "[unix_http_server]",
    `file=${dir}/supervisor.sock`,
    // a partition's supervisord is driven by zr-agent, a member of the partition's group only
    user.partition ? "chmod=0770" : "chmod=0700",
    "",
    "[supervisord]",
    "nodaemon=true",
    `logfile=${dir}/log/supervisord.log`,
    "logfile_maxbytes=1MB",
    "logfile_backups=2",
    `pidfile=${dir}/supervisord.pid`,
    `childlogdir=${dir}/log`,
    `directory=${user.home}`,
    "umask=027",
    "minfds=1024",
    "minprocs=200",
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    `serverurl=unix://${dir}/supervisor.sock`,
    "",
    ...programs,
    "[include]",
    `files=${dir}/conf.d/*.conf`,
    "",
  ].join("\n");
}

/**
 * The networks a partition's egress rule may name (PID 1 refuses any other address). One image
 * serves every data center, so it cannot list a site's data networks: the private ranges hold them
 * all, and loopback, link-local and public addresses stay out of any grant.
 */
export const EGRESS_NETWORKS: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fc00::/7",
];

/** What PID 1 (agents/init/zr-init.py) reads from IMAGE_PATHS.initConfig. */
export interface InitConfig {
  readonly nftables: string;
  readonly sysctl: string;
  readonly readyMarker: string;
  readonly stopTimeoutSeconds: number;
  /** PID 1's request socket (agents/init/init_requests.py): only `uid` may ask, at most `maxPerMinute`. */
  readonly requests: {
    readonly socket: string;
    readonly uid: number;
    readonly gid: number;
    readonly maxPerMinute: number;
  };
  /**
   * Per-partition egress (agents/init/init_egress.py): where the agent leaves a partition's rules,
   * and the networks a rule's address must lie in.
   * @default - PID 1 refuses egress requests
   */
  readonly egress?: { readonly dir: string; readonly networks: readonly string[] };
  readonly supervisors: readonly {
    readonly user: string;
    readonly uid: number;
    readonly gid: number;
    readonly home: string;
    readonly config: string;
    /** A partition's: started only when the agent asks (while the partition holds an instance). */
    readonly onDemand: boolean;
  }[];
}

export function renderInitConfig(spec: HardenedImageSpec): InitConfig {
  return {
    nftables: IMAGE_PATHS.nftables,
    sysctl: IMAGE_PATHS.sysctl,
    readyMarker: IMAGE_PATHS.readyMarker,
    stopTimeoutSeconds: 15,
    requests: { socket: IMAGE_PATHS.initSocket, uid: AGENT_USER.uid, gid: AGENT_USER.uid, maxPerMinute: 120 },
    egress: { dir: IMAGE_PATHS.egressRules, networks: EGRESS_NETWORKS },
    supervisors: spec.users.map((u) => ({
      user: u.name,
      uid: u.uid,
      gid: u.uid,
      home: u.home,
      config: `${supervisorDir(u)}/supervisord.conf`,
      onDemand: u.partition === true,
    })),
  };
}
