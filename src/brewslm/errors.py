"""Errors a user can act on.

Every error raised for bad input is a ``BrewError`` whose ``str()`` is one line that names the
file, row or field at fault and says what to do. The CLI prints that line and exits non-zero;
it never shows a traceback for a ``BrewError``.
"""


class BrewError(Exception):
    """Base class: the message is one line, shown to the user as is."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))


class SourceError(BrewError):
    """A locator cannot be opened or read (missing path, unknown prefix, unreadable file)."""


class MapperError(BrewError):
    """A mapper or field map is unknown or does not fit the data."""


class ConfigError(BrewError):
    """A configuration value is unknown, missing or out of range."""


class ImportFailed(BrewError):
    """An import stopped; the previous dataset version is left intact."""


class PluginError(BrewError):
    """A plugin module failed to load or tried to replace a built-in without replace=True."""
