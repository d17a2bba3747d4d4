"""The one piece of setuptools' pkg_resources that supervisord uses, for PID 1's supervisords.

Debian's supervisord (4.2.5) imports pkg_resources only to resolve `rpcinterface_factory` specs
(`EntryPoint.parse("x=module:attr").resolve()`, supervisor/options.py). Importing the real one scans
every installed distribution: ~7 MB of every supervisord's memory and half of its start-up CPU. PID 1
puts this directory first on the path (PYTHONPATH) of the supervisords it starts; the variable is
removed here, at supervisord's start, so the programs supervisord runs never inherit it.
"""
import importlib
import os

os.environ.pop("PYTHONPATH", None)


class EntryPoint:
    def __init__(self, module, attrs):
        self.module = module
        self.attrs = attrs

    @classmethod
    def parse(cls, src):
        value = src.partition("=")[2].strip()
        module, _, attrs = value.partition(":")
        if not module.strip():
            raise ValueError(f"entry point {src!r}: no module")
        return cls(module.strip(), attrs.strip())

    def resolve(self):
        obj = importlib.import_module(self.module)
        for attr in filter(None, self.attrs.split(".")):
            obj = getattr(obj, attr)
        return obj
