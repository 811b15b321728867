"""What the synthetic generator learns from the real samples: rates, sizes, weights, words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal

from igdb_emulator.records import Record

# The gameboy-seeds games are an unbiased draw of IGDB (mods, obscure titles); the rag-sample
# games are the 500 most rated. Presence rates and sizes come from the former only.
REPRESENTATIVE_GAME_COUNT = 100

# Children per game: "gameboy" (the unbiased sample) or "heavy" (the rag-sample's top-rated
# games, for the fields it carries) - a stress case, e.g. ~6x the external_games.
Ratios = Literal["gameboy", "heavy"]

_WORD = re.compile(r"[A-Za-z][a-z']+")


@dataclass(frozen=True)
class Weighted:
    """A categorical distribution ready for `random.choices(values, cum_weights=...)`."""

    values: tuple[int, ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def from_counts(cls, counts: Counter[int], floor: Sequence[int] = ()) -> Weighted:
        """Observed counts, plus weight 1 for every id in `floor` (so all of them occur)."""
        merged = Counter(dict.fromkeys(floor, 1))
        merged.update(counts)
        values = tuple(sorted(merged))
        return cls(values, tuple(accumulate(float(merged[value]) for value in values)))


@dataclass
class Profile:
    presence: dict[str, float]
    sizes: dict[str, list[int]]
    references: dict[str, Weighted]  # game array field -> weighted lookup ids
    pools: dict[str, list[int]]  # small id pools seen in samples (tags, engines, ...)
    scalars: dict[str, list[float]]  # observed numeric values per game field
    title_words: list[str]
    text_words: list[str]
    summary_words: list[int]
    storyline_words: list[int]
    templates: dict[str, list[Record]] = field(default_factory=dict)


def child_ratios(games: Sequence[Record]) -> tuple[dict[str, float], dict[str, list[int]]]:
    """Per game field: the share of `games` carrying it, and the list lengths seen."""
    presence = {
        name: count / len(games)
        for name, count in Counter(key for game in games for key in game).items()
    }
    sizes: dict[str, list[int]] = {}
    for game in games:
        for name, value in game.items():
            if isinstance(value, list):
                sizes.setdefault(name, []).append(len(value))
    return presence, sizes


def learn(samples: dict[str, list[Record]], ratios: Ratios = "gameboy") -> Profile:
    """Build the profile from the merged samples (see samples.load_samples)."""
    games = samples["games"]
    representative = [game for game in games if "checksum" in game] or games
    presence, sizes = child_ratios(representative)
    if ratios == "heavy":
        top_rated = [game for game in games if "checksum" not in game] or games
        heavy_presence, heavy_sizes = child_ratios(top_rated)
        presence.update(heavy_presence)  # the rag-sample's selected fields only
        sizes.update(heavy_sizes)
    scalars: dict[str, list[float]] = {}
    for game in games:
        for name, value in game.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                scalars.setdefault(name, []).append(float(value))

    references: dict[str, Weighted] = {}
    for name, endpoint in (
        ("platforms", "platforms"),
        ("genres", "genres"),
        ("themes", "themes"),
        ("game_modes", "game_modes"),
        ("player_perspectives", "player_perspectives"),
    ):
        counts = Counter(value for game in games for value in game.get(name, ()))
        known = [record["id"] for record in samples.get(endpoint, [])]
        counts = Counter({value: n for value, n in counts.items() if value in set(known)})
        references[name] = Weighted.from_counts(counts, floor=known)

    pools = {
        name: sorted({value for game in games for value in game.get(name, ())})
        for name in ("tags", "game_engines", "keywords")
    }
    title_words = sorted({word for game in games for word in _WORD.findall(game["name"])})
    text_words = [
        word.lower() for game in representative for word in _WORD.findall(game.get("summary", ""))
    ]
    return Profile(
        presence=presence,
        sizes=sizes,
        references=references,
        pools=pools,
        scalars=scalars,
        title_words=title_words,
        text_words=text_words,
        summary_words=[
            len(game["summary"].split()) for game in representative if "summary" in game
        ],
        storyline_words=[
            len(game["storyline"].split()) for game in representative if "storyline" in game
        ],
        templates={
            endpoint: samples.get(endpoint, [])
            for endpoint in ("websites", "external_games", "covers", "release_dates", "companies")
        },
    )
