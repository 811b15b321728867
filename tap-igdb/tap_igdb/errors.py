"""Errors the tap reports to the user as one line (no traceback, no secrets).

Two kinds: a `StreamError` ends one stream's read, and the run goes on with the
others (the run then fails at its end, naming every failed stream); a `RunError`
concerns every stream (settings, credentials) and ends the run at once.
"""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class TapIGDBError(Exception):
    """A failure whose message is a complete, secret-free, one-line explanation."""


class RunError(TapIGDBError):
    """No stream can succeed: the run ends at once."""


class ConfigError(RunError):
    """A setting is missing or invalid."""


class AuthError(RunError):
    """Twitch refused the client credentials, IGDB refused a fresh token, or the token
    endpoint kept failing."""


class StreamError(TapIGDBError):
    """One stream's read failed (after its retries); the other streams go on."""


class IGDBAPIError(StreamError, FatalAPIError):
    """IGDB answered with an error that retrying cannot fix, or retries ran out."""


class FieldTypeError(StreamError):
    """IGDB sent a field with a type the stream's schema does not allow."""


class StreamsFailedError(TapIGDBError):
    """The run read every stream it could, and these failed."""

    def __init__(self, failures: dict[str, str], streams: int) -> None:
        causes = "; ".join(f"{name} ({cause})" for name, cause in failures.items())
        super().__init__(f"tap-igdb: {len(failures)} of {streams} streams failed: {causes}")
        self.failures = failures


class PayloadTooLargeError(FatalAPIError):
    """413: IGDB's response size cap; the request must be sent again for fewer records."""
