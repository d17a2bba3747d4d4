/** The text form of `zeroroot lab status`: the control plane, the sites, the servers, then what is down. */
import { renderTable } from "../../cli/table";
import type { LabStatus } from "./status";
import { formatDatastores } from "./status-datastores";
import { formatCluster } from "../releases/dask/status";

const age = (s: number | undefined) => (s === undefined ? "never" : `${s} s ago`);

export function formatLabStatus(st: LabStatus): string {
  const out: string[] = [];
  const cp = st.controlPlane;
  if ("error" in cp) out.push(`CONTROL PLANE: cannot be read: ${cp.error}`);
  else {
    out.push(
      `CONTROL PLANE: ${cp.health.toUpperCase()}, leader ${cp.leader ?? "none"}, members listed by etcd: ${cp.listed?.join(", ") ?? "(no member answered)"}`,
    );
    out.push(
      renderTable(
        ["MEMBER", "PROCESS", "SUPERVISOR", "ANSWERS", "HEALTHY", "LEADER", "DETAIL"],
        cp.members.map((m) => [
          m.dc,
          m.running ? `pid ${m.pid}` : "not running",
          m.supervisor,
          m.answers ? "yes" : "no",
          m.healthy ? "yes" : "no",
          m.isLeader ? "this" : (m.leader ?? "-"),
          m.detail,
        ]),
      ),
    );
  }
  out.push("", "SITE SERVICES:");
  out.push(
    renderTable(
      ["SITE", "PROCESS", "UID", "SUPERVISOR", "ANSWERS"],
      st.sites.map((s) => [
        s.dataCenter,
        s.running ? `pid ${s.pid}` : "not running",
        s.uid === undefined ? "-" : String(s.uid),
        s.supervisor,
        s.answers ? "yes" : "NO",
      ]),
    ),
  );
  out.push("", "SERVERS:");
  out.push(
    renderTable(
      [
        "SERVER",
        "STATE",
        "POWER",
        "PID 1",
        "BOOT",
        "PHASE",
        "AGENT REPORT",
        "CERTIFICATE",
        "AGENT USER",
        "PORT 22",
        "INSTANCES",
      ],
      st.servers.map((s) => [
        s.id,
        s.state.toUpperCase(),
        s.power,
        s.running ? "running" : "NOT RUNNING",
        s.bootDevice,
        s.phase ?? "-",
        age(s.agentReportAgeSeconds),
        s.certificate?.subject ?? "-",
        s.agentUser ?? "-",
        s.port22Listening ? "LISTENING" : "closed",
        s.instances.map((i) => i.user).join(",") || "-",
      ]),
    ),
  );
  if (st.datastores.length > 0) out.push("", "DATASTORES:", ...formatDatastores(st.datastores));
  if (st.compute.length > 0) out.push("", "COMPUTE:", ...st.compute.flatMap(formatCluster));
  out.push("");
  if (st.up) out.push(`lab ${st.lab}: everything is up (checked ${st.checkedAt})`);
  else out.push(`lab ${st.lab}: ${st.problems.length} problem(s):`, ...st.problems.map((p) => `  - ${p}`));
  return out.join("\n");
}
