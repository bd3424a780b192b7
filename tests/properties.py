"""Shared pieces of the parsers' property-based tests."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, settings

from console.errors import ParseError

# Many examples, no per-example deadline: the CI machine is small and shared.
PARSER_PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_parse_errors(call: Callable[[], object]) -> None:
    """Run a parser on bad input: its own ParseError is fine, anything else fails."""
    try:
        call()
    except ParseError:
        pass
