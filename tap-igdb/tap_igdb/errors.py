"""Errors the tap reports to the user as one line (no traceback, no secrets)."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class TapIGDBError(Exception):
    """A failure whose message is a complete, secret-free, one-line explanation."""


class ConfigError(TapIGDBError):
    """A setting is missing or invalid."""


class AuthError(TapIGDBError):
    """Twitch refused the client credentials or the token endpoint kept failing."""


class IGDBAPIError(TapIGDBError, FatalAPIError):
    """IGDB answered with an error that retrying cannot fix, or retries ran out."""
