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


class FieldTypeError(TapIGDBError):
    """IGDB sent a field with a type the stream's schema does not allow."""


class PayloadTooLargeError(FatalAPIError):
    """413: IGDB's response size cap; the request must be sent again for fewer records."""
