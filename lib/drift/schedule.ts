/**
 * The drift schedule on a management server: a systemd service + timer pair that runs
 * `zeroroot drift --all` as an unprivileged user holding the operator's certificate (handed in as a
 * systemd credential, never in the unit text or a command line), with the history and the latest
 * SARIF/HTML reports in the unit's StateDirectory. Pure: returns the two unit files.
 *
 * Exit 2 (drift found) counts as success for systemd: the report says what drifted. Exit 1 (the
 * watcher could not watch: control plane unreachable, bad config) fails the unit, so `OnFailure=`
 * and `systemctl --failed` show it: the watchers are watched.
 */
export interface ScheduleOptions {
  /** Unprivileged account the run uses. @default "zr-drift" */
  readonly user?: string;
  /** The zeroroot checkout (stacks, policies, bin/zeroroot). @default "/opt/zeroroot" */
  readonly checkout?: string;
  /** systemd time span between runs. @default "15min" */
  readonly interval?: string;
  /** Operator certificate and key files (read by systemd, passed as credentials). */
  readonly certificate?: string;
  readonly key?: string;
  /** File holding the stack's secrets passphrase (BMC passwords), as a credential. @default - none */
  readonly passphraseFile?: string;
  /**
   * Directory of the stacks' exported deployment state (`<stack>.json`, `pulumi stack export`): the
   * managed BMC logins come from there (docs/drift.md). Its secrets need the passphrase file.
   * @default - none: the stack files' initial BMC logins, refused once the credentials rotated
   */
  readonly stateDir?: string;
}

export interface ScheduleUnits {
  readonly service: string;
  readonly timer: string;
}

export const SCHEDULE_UNIT = "zeroroot-drift";

const SAFE_PATH = /^\/[A-Za-z0-9._/-]{0,255}$/;
const SAFE_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SAFE_SPAN = /^\d{1,5}(s|min|h|d)$/;

/** Throws naming the option, the value received and what is allowed (values go into unit files). */
function check(name: string, value: string, pattern: RegExp, allowed: string): string {
  if (!pattern.test(value) || value.includes(".."))
    throw new Error(`${name}: received ${JSON.stringify(value).slice(0, 80)}; allowed: ${allowed}`);
  return value;
}

export function renderSchedule(opts: ScheduleOptions = {}): ScheduleUnits {
  const user = check(
    "--user",
    opts.user ?? "zr-drift",
    SAFE_USER,
    "an unprivileged user name [a-z_][a-z0-9_-]*, not root",
  );
  if (user === "root")
    throw new Error(`--user: received "root"; allowed: an unprivileged user name, not root`);
  const path = "an absolute path of [A-Za-z0-9._/-] without ..";
  const checkout = check("--checkout", opts.checkout ?? "/opt/zeroroot", SAFE_PATH, path);
  const interval = check("--interval", opts.interval ?? "15min", SAFE_SPAN, "a time span like 15min, 1h, 1d");
  const cert = check("--cert", opts.certificate ?? "/etc/zeroroot/operator.crt", SAFE_PATH, path);
  const key = check("--key", opts.key ?? "/etc/zeroroot/operator.key", SAFE_PATH, path);
  const pass = opts.passphraseFile
    ? check("--passphrase-file", opts.passphraseFile, SAFE_PATH, path)
    : undefined;
  const state = opts.stateDir ? check("--state", opts.stateDir, SAFE_PATH, path) : undefined;
  if (state && !pass)
    throw new Error(
      `--state: received ${JSON.stringify(state)} without --passphrase-file; allowed: --state together with --passphrase-file (the managed BMC logins in the state are secrets)`,
    );
  const service = `# Rendered by \`zeroroot drift schedule --render\`; see docs/drift.md.
[Unit]
Description=zeroroot drift detection (desired state against the live fleet)
Documentation=file://${checkout}/docs/drift.md
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=${user}
Group=${user}
WorkingDirectory=${checkout}
# The operator's certificate and key reach the run as credentials (mode 0400, owned by the user,
# gone when the run ends), never as arguments or environment values.
LoadCredential=operator.crt:${cert}
LoadCredential=operator.key:${key}
${pass ? `LoadCredential=passphrase:${pass}\nEnvironment=PULUMI_CONFIG_PASSPHRASE_FILE=%d/passphrase\n` : ""}Environment=ZEROROOT_OPERATOR_CERT=%d/operator.crt ZEROROOT_OPERATOR_KEY=%d/operator.key
StateDirectory=${SCHEDULE_UNIT}
StateDirectoryMode=0700
ExecStart=${checkout}/bin/zeroroot drift --all${state ? ` --state ${state}` : ""} --history \${STATE_DIRECTORY}/history --format sarif --out \${STATE_DIRECTORY}/drift.sarif --html \${STATE_DIRECTORY}/drift.html
# 2 = drift found (reported); 1 = the run could not judge the fleet (fails the unit).
SuccessExitStatus=2
TimeoutStartSec=30min
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
# Node's JIT needs writable-executable memory: MemoryDenyWriteExecute stays off.
`;
  const timer = `# Rendered by \`zeroroot drift schedule --render\`; see docs/drift.md.
[Unit]
Description=Run zeroroot drift detection every ${interval}

[Timer]
OnBootSec=5min
OnUnitActiveSec=${interval}
RandomizedDelaySec=60
AccuracySec=30s
Persistent=true
Unit=${SCHEDULE_UNIT}.service

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}
