"""The engine's own exceptions."""


class NixdeckError(Exception):
    """Base class of every error the engine raises on purpose."""


class ParseError(NixdeckError, ValueError):
    """Output from a host could not be understood."""


class TransportError(NixdeckError):
    """A command could not be run because the host cannot be reached."""


class CommandTimeout(TransportError):
    """A command did not finish within its timeout."""
