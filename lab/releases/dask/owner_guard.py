"""Owner-only admission for a user's Dask cluster (docs/compute.md), loaded with `--preload`.

At import it replaces Dask's `tls` comm backend with one whose listener, after the TLS handshake
(chain verified against the platform's root, client certificate required), reads the peer's
identity from its verified certificate and closes the connection before any Dask message unless
the identity is admitted:

- the cluster's owner: kind `user`, the owner's issuing data center and name (the triple, never a
  CN alone: the identity URI `zeroroot://user.<dc>.<domain>/<name>` is bound to the issuing data
  center by its CA's root-signed name constraints, which OpenSSL enforces while verifying);
- the cluster's own processes: kind `service`, issued by one of the cluster's data centers, named
  `<cluster label>-s` or `<cluster label>-w<k>` under a host of that data center's zone (the
  site names service certificates after the instance and the requesting computer).

Everything else (another user's valid certificate, a computer, another cluster) is refused and
logged with the refused identity. Configuration comes from the environment the start program sets
(ZR_DASK_OWNER, ZR_DASK_CLUSTER, ZR_DASK_DATA_CENTERS, ZR_DASK_DOMAIN); without it the import fails,
so the process never listens unguarded. Uses Dask internals (TLSListener._prepare_stream) checked
for distributed 2022.12 (the release pins the Debian version).
"""
import logging
import os
import re

import dask
from distributed.comm import registry
from distributed.comm.tcp import TLSBackend, TLSListener

logger = logging.getLogger("distributed.owner_guard")

_LABEL = re.compile(r"[a-z][a-z0-9-]{0,62}")
_DC = re.compile(r"[a-z][a-z0-9-]{0,62}")
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")
_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")


def _setting(key, pattern):
    value = os.environ.get(key, "")
    if not pattern.fullmatch(value):
        raise SystemExit(f"owner_guard: {key} is missing or malformed: refusing to start unguarded")
    return value


def _load():
    owner = os.environ.get("ZR_DASK_OWNER", "").split("/")
    if len(owner) != 3 or owner[1] != "user" or not _DC.fullmatch(owner[0]) or not _NAME.fullmatch(owner[2]):
        raise SystemExit("owner_guard: ZR_DASK_OWNER must be an identity dc/user/name")
    dcs = _setting("ZR_DASK_DATA_CENTERS", re.compile(r"[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*){0,7}")).split(",")
    return {
        "owner": (owner[0], "user", owner[2]),
        "cluster": _setting("ZR_DASK_CLUSTER", _LABEL),
        "data_centers": frozenset(dcs),
        "domain": _setting("ZR_DASK_DOMAIN", _DOMAIN),
    }


CONFIG = _load()


def identity_of(cert):
    """(data center, kind, name) of a verified peer certificate (as ssl's getpeercert() gives it), or None."""
    if not cert:
        return None
    uris = [v for (t, v) in cert.get("subjectAltName", ()) if t == "URI" and v.startswith("zeroroot://")]
    if len(uris) != 1:
        return None
    m = re.fullmatch(r"zeroroot://([a-z]+)\.([a-z][a-z0-9-]*)\.([^/]+)/([^/]+)", uris[0])
    if not m or m.group(3) != CONFIG["domain"]:
        return None
    kind, dc, _domain, name = m.groups()
    common_names = [v for rdn in cert.get("subject", ()) for (k, v) in rdn if k == "commonName"]
    if common_names != [name]:
        return None
    return (dc, kind, name)


def admitted(identity):
    if identity is None:
        return False
    dc, kind, name = identity
    if kind == "user":
        return identity == CONFIG["owner"]
    if kind != "service" or dc not in CONFIG["data_centers"]:
        return False
    label, _, host = name.partition(".")
    own = re.fullmatch(re.escape(CONFIG["cluster"]) + r"-(s|w\d{1,2})", label) is not None
    return own and host.endswith(f".{dc}.{CONFIG['domain']}")


def _shown(identity):
    return "no zeroroot identity" if identity is None else "/".join(identity)


class OwnerOnlyTLSListener(TLSListener):
    async def _prepare_stream(self, stream, address):
        stream = await super()._prepare_stream(stream, address)
        if stream is None:
            return None
        identity = identity_of(stream.socket.getpeercert())
        if not admitted(identity):
            logger.warning(
                "refused %s: %s is not the owner %s nor a process of cluster %s",
                address,
                _shown(identity),
                "/".join(CONFIG["owner"]),
                CONFIG["cluster"],
            )
            stream.close()
            return None
        return stream


class OwnerOnlyTLSBackend(TLSBackend):
    _listener_class = OwnerOnlyTLSListener


# The guard subclasses the tornado TCP backend: refuse to run on the asyncio one rather than unguarded.
if dask.config.get("distributed.comm.tcp.backend", "tornado") != "tornado":
    raise SystemExit("owner_guard: distributed.comm.tcp.backend must be tornado")
registry.backends["tls"] = OwnerOnlyTLSBackend()
