"""Build the TLS context of apprise's SMTP connections only when a connection uses TLS.

apprise's SMTP controller calls `ssl.create_default_context()` for every connection,
even a plain (`mode=insecure`) one that never uses it, and loading the CA bundle costs
50-100 ms of CPU: the bulk of an email send to a local relay. `install()` gives that
module a stand-in `ssl` whose `create_default_context()` returns a `LazyContext`: the
real context (same defaults, same settings apprise applies) is created on first use,
so TLS connections are verified exactly as before and plain ones skip the cost. If
apprise is laid out differently, nothing is installed and sends work as they did.
"""

from __future__ import annotations

import importlib
import ssl
import threading
import types

_SETTABLE = ("check_hostname", "verify_mode")


class LazyContext:
    """An `ssl.SSLContext` created on first use, with the settings made before that."""

    def __init__(self, *args, **kwargs) -> None:
        object.__setattr__(self, "_args", (args, kwargs))
        object.__setattr__(self, "_settings", {})
        object.__setattr__(self, "_real", None)
        object.__setattr__(self, "_lock", threading.Lock())

    def real(self) -> ssl.SSLContext:
        with self._lock:
            if self._real is None:
                args, kwargs = self._args
                context = ssl.create_default_context(*args, **kwargs)
                if self._settings.get("check_hostname") is False:
                    context.check_hostname = False  # before verify_mode: CERT_NONE needs it off
                for name, value in self._settings.items():
                    setattr(context, name, value)
                object.__setattr__(self, "_real", context)
            return self._real

    def __setattr__(self, name: str, value) -> None:
        if self._real is None and name in _SETTABLE:
            self._settings[name] = value
        else:
            setattr(self.real(), name, value)

    def __getattr__(self, name: str):
        if self._real is None and name in self._settings:
            return self._settings[name]
        return getattr(self.real(), name)


def lazy_ssl_module() -> types.ModuleType:
    """A copy of the `ssl` namespace whose create_default_context is lazy."""
    module = types.ModuleType("ssl_lazy_context")
    module.__dict__.update({k: v for k, v in vars(ssl).items() if not k.startswith("__")})
    module.create_default_context = LazyContext
    return module


def install(module_name: str = "apprise.plugins.email.smtp") -> bool:
    """Swap the lazy `ssl` into apprise's SMTP module; False when it is not there."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    if getattr(module, "ssl", None) is not ssl:
        return False
    module.ssl = lazy_ssl_module()
    return True
