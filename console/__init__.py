"""nixdeck: a terminal operations console for a fleet of NixOS machines."""

__version__ = "0.1.0"
