"""What PID 1's supervisords run first: Python's site imports `sitecustomize` from the path, and PID 1
puts this folder first on the path (PYTHONPATH) of the supervisords it starts, and of nothing else.

Each cut is memory every busy partition pays once (docs/agent.md, "Footprint"):
- Debian's /usr/bin/supervisord finds its main() through importlib.metadata, which imports email,
  zipfile, csv and pathlib only for that (~1.8 MB). The stand-in below reads the same
  entry_points.txt of the installed distribution and nothing else.
- supervisord serves XML-RPC on a unix socket: it never speaks TLS, and its one hash (sha1 of
  `{SHA}` passwords) is built into Python. `ssl` and `_hashlib` are optional for http.client and
  hashlib; blocking them keeps OpenSSL's libraries out of the process (~1 MB).
The variable is removed at once, so the programs supervisord runs never inherit it.
"""
import configparser
import importlib
import os
import sys
import types

os.environ.pop("PYTHONPATH", None)

for _name in ("ssl", "_hashlib"):
    sys.modules.setdefault(_name, None)  # `import ssl` now raises ImportError, which both callers expect


class PackageNotFoundError(ModuleNotFoundError):
    pass


class EntryPoint:
    def __init__(self, group, name, value):
        self.group = group
        self.name = name
        self.value = value

    def load(self):
        module, _, attrs = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


class Distribution:
    def __init__(self, path):
        self._path = path

    @property
    def entry_points(self):
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str
        parser.read(os.path.join(self._path, "entry_points.txt"), encoding="utf-8")
        return [EntryPoint(g, n, v) for g in parser.sections() for n, v in parser.items(g)]


def _normalised(name):
    return name.replace("-", "_").replace(".", "_").lower()


def distribution(name):
    """The installed distribution `name` (egg-info or dist-info on sys.path), as importlib.metadata."""
    wanted = _normalised(name)
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            base, ext = os.path.splitext(entry)
            if ext in (".egg-info", ".dist-info") and _normalised(base.split("-")[0]) == wanted:
                return Distribution(os.path.join(folder, entry))
    raise PackageNotFoundError(name)


_metadata = types.ModuleType("importlib.metadata", "zeroroot's stand-in (pyshim/sitecustomize.py)")
_metadata.distribution = distribution
_metadata.PackageNotFoundError = PackageNotFoundError
sys.modules["importlib.metadata"] = _metadata
