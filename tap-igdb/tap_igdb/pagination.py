"""Keyset pagination over IGDB ids, for plain requests and multiquery batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from singer_sdk.pagination import BaseAPIPaginator

from tap_igdb.apicalypse import KeysetWindow

Record = dict[str, Any]


@dataclass(frozen=True)
class PageToken:
    """Everything one request needs: where to read, and how much.

    `pages` > 1 (or `with_plan`) means a multiquery: block k reads `offset k*limit`
    after the same anchor id, which is stable because the anchor is fixed.
    """

    window: KeysetWindow
    limit: int
    pages: int = 1
    multiquery: bool = False
    with_plan: bool = False
    """Also ask for the window's record count and highest id (first multiquery only)."""


@dataclass
class Page:
    """A decoded response: records in id order, and the size of each record block."""

    records: list[Record]
    block_sizes: list[int]
    count: int | None = None
    max_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class KeysetPaginator(BaseAPIPaginator[PageToken]):
    """Advances the anchor to the last id received; a short block ends the window."""

    def __init__(
        self,
        start: PageToken,
        page_of: Callable[[requests.Response], Page],
        *,
        pages_after_first: int | None = None,
    ) -> None:
        super().__init__(start)
        self._page_of = page_of
        self._pages_after_first = pages_after_first or start.pages

    def has_more(self, response: requests.Response) -> bool:
        """Only full blocks can be followed by more records."""
        page = self._page_of(response)
        limit = self.current_value.limit
        return bool(page.records) and all(size >= limit for size in page.block_sizes)

    def get_next(self, response: requests.Response) -> PageToken | None:
        """The next request: same window and limit, anchored after the last id seen."""
        page = self._page_of(response)
        if not page.records:
            return None
        token = self.current_value
        return replace(
            token,
            window=token.window.after(int(page.records[-1]["id"])),
            pages=self._pages_after_first,
            with_plan=False,
        )

    def shrink(self) -> bool:
        """Halve the page limit after a 413; False when it cannot get any smaller."""
        token = self.current_value
        if token.limit <= 1:
            return False
        self._value = replace(token, limit=token.limit // 2)
        return True
