"""Unix seconds, IGDB's only notion of time (`updated_at`, bookmarks)."""

from __future__ import annotations

import datetime
import typing as t


def unix_seconds(value: t.Any) -> int:
    """A bookmark or `start_date` as unix seconds: ints, numeric strings or ISO 8601.

    Raises ValueError for anything else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return int(parsed.timestamp())
