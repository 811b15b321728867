"""Twitch OAuth2 client-credentials authentication for IGDB.

An app may hold at most 25 live tokens and older ones are silently invalidated, so
one token is fetched per run and shared by every stream and thread. It is renewed
only shortly before it expires, or once after IGDB answers 401. The token request
retries transient failures as every API request does (retries.py).
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_igdb.errors import AuthError
from tap_igdb.retries import RetriesExhaustedError, with_retries

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_igdb.settings import RetrySettings

logger = logging.getLogger(__name__)

RENEWAL_MARGIN_SECONDS = 60
"""Renew a token this long before Twitch says it expires."""

# Twitch's documented refusals, mapped to the setting the user has to fix.
_REFUSALS = {400: "client_id", 403: "client_secret"}


class TwitchAuthenticator(APIAuthenticatorBase):
    """Adds `Client-ID` and `Authorization: Bearer` to each request (thread-safe)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        auth_url: str,
        timeout: float = 60.0,
        retries: RetrySettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self._client_id = client_id
        self._client_secret = client_secret
        self._auth_url = auth_url
        self._timeout = timeout
        self._retries = retries
        self._clock = clock
        self._sleep = sleep
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    def token(self) -> str:
        """The current access token, fetched when there is none or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def renew(self, stale_token: str) -> None:
        """Replace `stale_token` after a 401; a no-op if another thread already did."""
        with self._lock:
            if self._token == stale_token:
                logger.warning("IGDB refused the access token (401); fetching a new one")
                self._fetch()

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set IGDB's headers on `request`."""
        request.headers["Client-ID"] = self._client_id
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def _fetch(self) -> None:
        """Fetch a token, retrying transient failures (`max_retries`, `backoff_*_ms`)."""
        try:
            response = with_retries(
                self._request_token,
                self._retries,
                transient=_transient_failure,
                on_retry=self._warn_retry,
                sleep=self._sleep,
            )
        except RetriesExhaustedError as exc:
            msg = (
                f"could not get a Twitch access token from the auth_url setting after "
                f"{exc.attempts} attempts (last failure: {exc.reason})"
            )
            raise AuthError(msg) from None
        self._accept(response)

    def _request_token(self) -> requests.Response:
        """One token request: Twitch's 200, or the reason it failed."""
        form = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
        }
        response = self._session.post(self._auth_url, data=form, timeout=self._timeout)
        if response.status_code == 200:
            return response
        if response.status_code in _REFUSALS:
            setting = _REFUSALS[response.status_code]
            msg = (
                f"Twitch refused the credentials ({response.status_code} "
                f"{_twitch_message(response)}): check the {setting} setting"
            )
            raise AuthError(msg)
        raise _TokenEndpointError(f"HTTP {response.status_code}")

    def _warn_retry(self, failed_attempts: int, wait: float, reason: str) -> None:
        logger.warning(
            "Token request failed (%s), retry %d of %d in %.1fs",
            reason,
            failed_attempts,
            self._retries.max_retries,
            wait,
        )

    def _accept(self, response: requests.Response) -> None:
        try:
            answer = response.json()
            token = answer["access_token"]
            expires_in = float(answer.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError):
            msg = "the auth_url answered 200 without an access_token; is it Twitch's token URL?"
            raise AuthError(msg) from None
        self._token = str(token)
        self.tokens_fetched += 1
        now = self._clock()
        # A token without `expires_in` is kept until IGDB refuses it.
        self._renew_at = now + expires_in - RENEWAL_MARGIN_SECONDS if expires_in else float("inf")
        logger.info("Fetched a Twitch access token (valid for %.0f s)", expires_in)


class _TokenEndpointError(Exception):
    """The token endpoint answered with a status worth asking again about."""


def _transient_failure(exc: Exception) -> str | None:
    """Why a token request failed, if asking again may help."""
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    if isinstance(exc, _TokenEndpointError):
        return str(exc)
    return None


def _twitch_message(response: requests.Response) -> str:
    """Twitch's own reason (`{"message": "invalid client"}`), or the HTTP reason."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or response.reason)
