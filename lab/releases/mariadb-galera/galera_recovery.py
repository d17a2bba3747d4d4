"""mariadb-galera: who may start the cluster again when no member runs (docs/datastores.md, "Recovery").

A member that does not run Galera yet publishes where its data stands and reads where every other
member's stands, then `decide` says what it may do. Pure: the same reports give the same answer on
every member, so exactly one member bootstraps, and only once every member's position is known.

Report of one member (`reports[address]`):
  {"state": "running"}                                    its Galera port answers: a cluster runs there
  {"state": "empty", "cluster": name}                     no data yet (first start or a wiped disk)
  {"state": "position", "cluster": name, "uuid": u, "seqno": n}
                                                          its last committed write-set (n = -1: not recoverable)
  {"state": "unknown", "why": text}                       no answer, or an answer that was refused

Members publish their report over mutual TLS (galera_peers.py) on the Galera IST port, which is
free while mariadbd does not run; a report is accepted only from a Galera service certificate of
the platform that no CRL revokes.
"""
import json
import re

RUNNING, EMPTY, POSITION, UNKNOWN = "running", "empty", "position", "unknown"
MAX_REPORT_BYTES = 1024
MAX_SEQNO = 2**63 - 1
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CLUSTER = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class ReportError(Exception):
    pass


def parse_report(raw):
    """A peer's published report (bytes), checked strictly: anything else is refused with the reason."""
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(f"report larger than {MAX_REPORT_BYTES} bytes")
    try:
        r = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReportError("report is not JSON")
    if not isinstance(r, dict) or r.get("v") != 1:
        raise ReportError("report is not a version 1 object")
    state, cluster = r.get("state"), r.get("cluster")
    if not isinstance(cluster, str) or not CLUSTER.match(cluster):
        raise ReportError("report has no valid cluster name")
    if state == EMPTY and set(r) == {"v", "state", "cluster"}:
        return {"state": EMPTY, "cluster": cluster}
    if state == POSITION and set(r) == {"v", "state", "cluster", "uuid", "seqno"}:
        uuid, seqno = r["uuid"], r["seqno"]
        if not isinstance(uuid, str) or not UUID.match(uuid):
            raise ReportError("report's uuid is not a UUID")
        if type(seqno) is not int or not -1 <= seqno <= MAX_SEQNO:
            raise ReportError(f"report's seqno is not an integer from -1 to {MAX_SEQNO}")
        return {"state": POSITION, "cluster": cluster, "uuid": uuid, "seqno": seqno}
    raise ReportError("report's state and fields are not those of an empty member or a position")


def encode_report(report):
    return json.dumps({"v": 1, **report}, sort_keys=True).encode("utf-8")


def _show(p, r):
    return f"{p} ({r['uuid']}:{r['seqno']})"


def decide(me, peers, bootstrap, cluster, reports):
    """(action, reason): action is join, bootstrap, found, wait or refuse.

    me: this member's address; peers: every member in the configured order (the tie-break);
    bootstrap: the member that may found a new cluster; reports: address → report, me included.
    """
    get = lambda p: reports.get(p) or {"state": UNKNOWN, "why": "no report"}  # noqa: E731
    others = [p for p in peers if p != me]
    running = [p for p in others if get(p)["state"] == RUNNING]
    if running:
        return "join", f"{', '.join(running)} runs Galera: joining (the state transfer brings what is missing)"
    strangers = [p for p in peers if get(p)["state"] in (EMPTY, POSITION) and get(p)["cluster"] != cluster]
    if strangers:
        named = ", ".join(f"{p} (cluster {get(p)['cluster']})" for p in strangers)
        return "refuse", f"{named} belong to another cluster than {cluster}: no member starts one; check the peers parameter"
    unknown = [p for p in peers if get(p)["state"] not in (EMPTY, POSITION)]
    holding = [p for p in peers if get(p)["state"] == POSITION]
    if get(me)["state"] == EMPTY:
        if holding:
            return "wait", f"{', '.join(holding)} hold data: this empty member joins once one of them runs"
        if me != bootstrap:
            return "wait", f"no member runs; only {bootstrap} founds the cluster, this member joins it"
        empty = [p for p in peers if get(p)["state"] == EMPTY]
        if 2 * len(empty) <= len(peers):
            why = "; ".join(f"{p}: {get(p).get('why', '?')}" for p in unknown)
            return "wait", f"founding needs a majority reporting no data ({len(empty)} of {len(peers)}; {why})"
        return "found", f"no member holds data ({', '.join(empty)} empty, {len(unknown)} unknown): founding {cluster}"
    if unknown:
        why = "; ".join(f"{p}: {get(p).get('why', '?')}" for p in unknown)
        return "wait", f"position of {why}: no member bootstraps before every member's position is known"
    lost = [p for p in holding if get(p)["seqno"] < 0]
    if lost:
        return "refuse", (
            f"{', '.join(lost)} could not recover its position (seqno -1): no member bootstraps; "
            "recover it (mariadbd --wsrep-recover) or wipe its data so that it rejoins by full state transfer"
        )
    uuids = sorted({get(p)["uuid"] for p in holding})
    if len(uuids) > 1:
        mine = get(me)["uuid"] if get(me)["state"] == POSITION else uuids[0]
        odd = [_show(p, get(p)) for p in holding if get(p)["uuid"] != mine]
        return "refuse", (
            f"{', '.join(odd)} claim another history than this member's {mine}: "
            "two histories cannot be merged; no member bootstraps. An operator decides which history "
            "survives and wipes the other members' data"
        )
    winner = min(holding, key=lambda p: (-get(p)["seqno"], peers.index(p)))
    newest = get(winner)["seqno"]
    if winner == me:
        return "bootstrap", f"every position known, this member holds the newest state {uuids[0]}:{newest}"
    return "wait", f"{winner} holds the newest state (seqno {newest}): it bootstraps, this member then joins"
