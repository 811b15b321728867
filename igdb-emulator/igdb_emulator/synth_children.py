"""Catalogue-driven records for the endpoints without a hand-written maker.

`Filler.fill` completes a record field by field in catalogue order: a per-field rule where
IGDB's values have a shape worth imitating (image ids, durations, deprecated enums that
mirror their replacement), otherwise a value of the field's kind. Fields that own children
(ownership.OWNERS) get fresh ids from the id counters; other references pick from the
target's ids (`pool`), so every id written resolves.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from igdb_emulator.entities import ENTITIES, Field
from igdb_emulator.ownership import Owner, owned_fields
from igdb_emulator.records import Record
from igdb_emulator.synth import (
    DAY,
    IGDB_FOUNDED,
    GameSynth,
    base36,
    human_date,
    image_url,
    randbelow,
    recent_update,
    slugify,
    uniform_time,
)

IMAGE_PREFIXES = {
    "artworks": "ar",
    "screenshots": "sc",
    "covers": "co",
    "company_logos": "cl",
    "platform_logos": "pl",
    "game_engine_logos": "gel",
    "character_mug_shots": "cm",
    "event_logos": "evl",
}
IMAGE_SIZES = ((1920, 1080), (1280, 720), (3840, 2160), (600, 800), (512, 512), (264, 374))
_VIDEO_ID = string.ascii_letters + string.digits + "-_"
_TEXT_FIELDS = ("description", "summary", "comment", "note")
_DERIVED_LAST = ("slug", "url", "gender", "species", "category", "region", "main_manufacturer")

Pool = Callable[[str], Sequence[int] | None]


@dataclass
class Context:
    """What a rule sees: the record so far and the parent (or anchor) it belongs to."""

    rng: random.Random
    endpoint: str
    record: Record
    parent: Record
    filler: Filler
    image_size: tuple[int, int] | None = None

    def size(self) -> tuple[int, int]:
        """One (width, height) per image record, whichever of the two comes first."""
        if self.image_size is None:
            self.image_size = self.rng.choice(IMAGE_SIZES)
        return self.image_size

    def pick(self, target: str, *, at_most: int = 1) -> list[int]:
        ids = self.filler.pool(target)
        if not ids:
            return []
        # rng.choices(ids, k=rng.randint(1, at_most)), unrolled (the same draws)
        rng = self.rng
        count = 1 + randbelow(rng, at_most)
        size = len(ids) + 0.0
        if count == 1:
            return [ids[int(rng.random() * size)]]
        random_ = rng.random
        return sorted({ids[int(random_() * size)] for _ in range(count)})

    def one(self, target: str) -> int | None:
        picked = self.pick(target)
        return picked[0] if picked else None

    def title(self, low: int = 1, high: int = 3) -> str:
        return self.filler.synth.title(self.rng, low, high)

    def text(self, share: float = 0.7) -> str | None:
        if self.rng.random() >= share:
            return None
        return self.filler.synth.text(self.rng, self.filler.synth.profile.summary_words[:40])

    def past(self, low: int = 315_532_800) -> int:
        return uniform_time(self.rng, low, self.filler.now - DAY)


Rule = Callable[[Context], Any]


def _image_url(c: Context) -> str:
    return image_url(c.record["image_id"])


def _url(c: Context) -> str | None:
    record, endpoint = c.record, c.endpoint
    if "image_id" in record:
        return _image_url(c)
    if endpoint in ("company_websites", "platform_websites", "event_networks"):
        return f"https://www.{slugify(c.title(1, 2)).replace('-', '')}.com/"
    if endpoint == "platform_versions":
        return f"https://www.igdb.com/platforms/{c.parent.get('slug')}/version/{record['slug']}"
    if endpoint == "game_versions":
        return f"https://www.igdb.com/games/{c.parent.get('slug')}/editions"
    if "slug" in record:
        return f"https://www.igdb.com/{endpoint}/{record['slug']}"
    return None


def _slug(c: Context) -> str | None:
    name = c.record.get("name")
    return f"{slugify(name)}--{c.record['id']}" if name else None


def _date_parts(c: Context) -> Any:
    """date, then human/m/y from it (release-date shaped records)."""
    c.record["date"] = c.past()
    c.record["human"] = human_date(c.record["date"])
    return c.record["date"]


def _month_number(human: str) -> int:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return months.index(human[:3]) + 1


def _time_to_beat(share: float) -> Rule:
    def rule(c: Context) -> int:
        normally = c.record.setdefault("normally", c.rng.randint(2, 80) * 3600)
        return int(normally * share)

    return rule


def _anchor_and_more(at_most: int) -> Rule:
    """The anchor game plus up to `at_most` others (characters, events, versions)."""

    def rule(c: Context) -> list[int]:
        return sorted({c.parent["id"], *c.pick("games", at_most=at_most)})

    return rule


def _chance(share: float, rule: Rule) -> Rule:
    return lambda c: rule(c) if c.rng.random() < share else None


# (endpoint, field) rules; ("*", field) applies to every endpoint.
RULES: dict[tuple[str, str], Rule] = {
    ("*", "image_id"): lambda c: IMAGE_PREFIXES.get(c.endpoint, "im") + base36(c.record["id"]),
    ("*", "url"): _url,
    ("*", "slug"): _slug,
    ("*", "name"): lambda c: c.title(),
    ("*", "width"): lambda c: c.size()[0],
    ("*", "height"): lambda c: c.size()[1],
    ("*", "alpha_channel"): lambda c: c.rng.random() < 0.05,
    ("*", "animated"): lambda c: c.rng.random() < 0.02,
    ("*", "trusted"): lambda c: c.rng.random() < 0.4,
    ("*", "date"): _date_parts,
    ("*", "m"): lambda c: _month_number(c.record["human"]),
    ("*", "y"): lambda c: int(c.record["human"][-4:]),
    ("*", "start_date"): lambda c: c.past(),
    ("*", "date_format"): lambda c: c.rng.choice((0, 0, 0, 0, 1, 2, 7)),
    # deprecated enums: the old code is the replacement's id (or id - 1 for genders)
    ("*", "category"): lambda c: c.record.get("type", c.record.get("date_format")),
    ("*", "region"): lambda c: c.record.get("release_region"),
    ("characters", "gender"): lambda c: c.record["character_gender"] - 1,
    ("characters", "species"): lambda c: c.record["character_species"],
    ("characters", "akas"): _chance(0.3, lambda c: [c.title(1, 2)]),
    ("characters", "country_name"): _chance(
        0.2, lambda c: c.rng.choice(("Japan", "United States", "United Kingdom", "France"))
    ),
    ("characters", "games"): _anchor_and_more(2),
    ("alternative_names", "name"): lambda c: f"{c.parent['name']} ({c.title(1, 1)})",
    ("alternative_names", "comment"): lambda c: c.rng.choice(
        ("Japanese title - romanization", "Abbreviation", "Working title", "Other")
    ),
    ("game_localizations", "name"): lambda c: c.parent["name"],
    ("covers", "game"): lambda c: c.parent.get("game"),
    ("game_videos", "name"): lambda c: c.rng.choice(
        ("Trailer", "Gameplay Trailer", "Announcement Trailer", "Launch Trailer", "Teaser")
    ),
    ("game_videos", "video_id"): lambda c: "".join(c.rng.choices(_VIDEO_ID, k=11)),
    ("multiplayer_modes", "platform"): lambda c: (
        c.rng.choice(c.parent["platforms"]) if c.parent.get("platforms") else None
    ),
    ("multiplayer_modes", "offlinecoopmax"): lambda c: c.rng.choice((2, 2, 4)),
    ("multiplayer_modes", "offlinemax"): lambda c: c.rng.choice((2, 4, 4, 8)),
    ("multiplayer_modes", "onlinecoopmax"): lambda c: c.rng.choice((2, 4, 4, 8)),
    ("multiplayer_modes", "onlinemax"): lambda c: c.rng.choice((4, 8, 16, 32, 64)),
    ("game_time_to_beats", "normally"): lambda c: c.record.get("normally"),
    ("game_time_to_beats", "hastily"): _time_to_beat(0.7),
    ("game_time_to_beats", "completely"): _time_to_beat(1.9),
    ("game_time_to_beats", "count"): lambda c: max(1, int(c.rng.paretovariate(1.1))),
    ("game_versions", "games"): _anchor_and_more(3),
    ("game_version_features", "title"): lambda c: c.rng.choice(
        ("Soundtrack", "Artbook", "Season Pass", "Bonus Missions", "Exclusive Skin")
    ),
    ("game_version_features", "category"): lambda c: c.rng.choice((0, 0, 1)),
    ("game_version_features", "position"): lambda c: c.rng.randint(1, 12),
    ("game_version_feature_values", "included_feature"): lambda c: c.rng.choice((0, 1, 1, 2)),
    ("events", "name"): lambda c: f"{c.title(1, 2)} Showcase {c.rng.randint(2015, 2026)}",
    ("events", "start_time"): lambda c: c.past(1_420_070_400),
    ("events", "end_time"): lambda c: c.record["start_time"] + c.rng.choice((1, 2, 3)) * 3600,
    ("events", "time_zone"): lambda c: c.rng.choice(("America/Los_Angeles", "Europe/Berlin")),
    ("events", "live_stream_url"): lambda c: f"https://www.twitch.tv/{slugify(c.title(1, 1))}",
    ("events", "games"): _anchor_and_more(5),
    ("events", "videos"): lambda c: c.parent.get("videos", [])[:2] or None,
    ("platform_versions", "name"): lambda c: f"{c.parent['name']} {c.title(1, 1)}",
    ("platform_versions", "main_manufacturer"): lambda c: (
        c.record["companies"][0] if c.record.get("companies") else None
    ),
    ("game_engines", "companies"): lambda c: c.pick("companies", at_most=2),
    ("game_engines", "platforms"): lambda c: c.pick("platforms", at_most=4),
    ("companies", "parent"): lambda c: None,  # only the real ones have parents
    ("companies", "developed"): lambda c: None,  # mirrored from involved_companies
    ("companies", "published"): lambda c: None,
    ("companies", "changed_company_id"): lambda c: (
        c.one("companies") if c.record.get("status") in (2, 3) else None
    ),
    ("companies", "change_date"): lambda c: (
        c.past(c.record.get("start_date", 0)) if c.record.get("status") in (2, 3) else None
    ),
    ("companies", "change_date_format"): lambda c: 0 if "change_date" in c.record else None,
}
for _name in _TEXT_FIELDS:
    RULES["*", _name] = lambda c: c.text()
for _name in ("connectivity", "cpu", "graphics", "media", "memory", "online", "os", "output"):
    RULES["platform_versions", _name] = _chance(0.5, lambda c: c.title(1, 3))
for _name in ("resolutions", "sound", "storage"):
    RULES["platform_versions", _name] = _chance(0.5, lambda c: c.title(1, 3))


class Filler:
    """Completes records of any endpoint; `pool(target)` gives the ids a reference may use."""

    def __init__(self, synth: GameSynth, pool: Pool, now: int) -> None:
        self.synth = synth
        self.pool = pool
        self.now = now

    def fill(self, endpoint: str, record: Record, rng: random.Random, parent: Record) -> Record:
        """`record` (id and whatever is already known) with every other field it should have."""
        fast = FAST_FILLS.get(endpoint)
        if fast is not None and record.keys() == {"id", "game"}:
            return fast(self, record, rng, parent)
        return self.fill_field_by_field(endpoint, record, rng, parent)

    def fill_field_by_field(
        self, endpoint: str, record: Record, rng: random.Random, parent: Record
    ) -> Record:
        """`fill` by the catalogue's plan, one rule per field (what the fast fills unroll)."""
        entity = ENTITIES[endpoint]
        context = Context(rng, endpoint, record, parent, self)
        if "created_at" in entity.field_set and "created_at" not in record:
            after = max(IGDB_FOUNDED, parent.get("created_at", IGDB_FOUNDED))
            record["created_at"] = uniform_time(rng, after, self.now - DAY)
        if "updated_at" in entity.field_set and "updated_at" not in record:
            record["updated_at"] = recent_update(rng, record["created_at"], self.now)
        for field, owned, rule in _plan(endpoint):
            if field.name in record:
                continue
            if owned is not None:
                value: Any = self._own(rng, owned[0], field, owned[1].presence, owned[1].sizes)
            elif rule is not None:
                value = rule(context)
            else:
                value = self._value(context, field)
            if value is not None:
                record[field.name] = value
        return record

    def _own(
        self, rng: random.Random, child: str, field: Field, presence: float, sizes: Sequence[int]
    ) -> int | list[int] | None:
        if rng.random() >= presence:
            return None
        ids = self.synth.take_ids(child, 1 if field.kind == "ref" else rng.choice(sizes))
        return ids[0] if field.kind == "ref" else ids

    def _value(self, c: Context, field: Field) -> Any:
        if field.is_reference and field.target:
            picked = c.pick(field.target, at_most=1 if field.kind == "ref" else 3)
            if not picked:
                return None
            return picked[0] if field.kind == "ref" else picked
        default = _BY_KIND.get(field.kind)
        return default(c) if default else None  # plain lists: only where a rule says


@cache
def _plan(endpoint: str) -> list[tuple[Field, tuple[str, Owner] | None, Rule | None]]:
    """Per field, in fill order (derived fields last): its owned child or its rule, if any."""
    owned = owned_fields(endpoint)
    fields = ENTITIES[endpoint].kinds
    ordered = [f for f in fields if f.name not in _DERIVED_LAST]
    ordered += [f for f in fields if f.name in _DERIVED_LAST]
    return [
        (
            field,
            owned.get(field.name),
            RULES.get((endpoint, field.name)) or RULES.get(("*", field.name)),
        )
        for field in ordered
        if field.name != "checksum"  # complete() computes it from the finished record
    ]


_BY_KIND: dict[str, Rule] = {
    "bool": lambda c: c.rng.random() < 0.5,
    "int": lambda c: c.rng.randint(1, 100),
    "number": lambda c: round(c.rng.uniform(1.0, 100.0), 2),
    "string": lambda c: c.title(),
    "time": lambda c: c.past(),
    "enum": lambda c: 0,
}


# --- fast fills ---------------------------------------------------------------------------
# The largest generated tables, unrolled: the same draws, in the same order, as
# Filler.fill_field_by_field makes for a record holding only its id and game (a test
# holds them equal), at half the cost per record: these tables are millions of records.

FastFill = Callable[[Filler, Record, random.Random, Record], Record]


def _fast_image(endpoint: str, *trailing_refs: tuple[str, str]) -> FastFill:
    """screenshots, artworks: alpha_channel, animated, the size, image_id, width, then
    each trailing reference, and the url (derived last)."""
    prefix = IMAGE_PREFIXES[endpoint]

    def fill(filler: Filler, record: Record, rng: random.Random, parent: Record) -> Record:
        record["alpha_channel"] = rng.random() < 0.05
        record["animated"] = rng.random() < 0.02
        width, height = IMAGE_SIZES[randbelow(rng, len(IMAGE_SIZES))]
        record["height"] = height
        image_id = record["image_id"] = prefix + base36(record["id"])
        record["width"] = width
        for field, target in trailing_refs:
            _pick_one(filler, rng, record, field, target)
        record["url"] = image_url(image_id)
        return record

    return fill


def _fast_language_support(
    filler: Filler, record: Record, rng: random.Random, parent: Record
) -> Record:
    created = uniform_time(
        rng, max(IGDB_FOUNDED, parent.get("created_at", IGDB_FOUNDED)), filler.now - DAY
    )
    record["created_at"] = created
    record["updated_at"] = recent_update(rng, created, filler.now)
    _pick_one(filler, rng, record, "language", "languages")
    _pick_one(filler, rng, record, "language_support_type", "language_support_types")
    return record


def _pick_one(filler: Filler, rng: random.Random, record: Record, field: str, target: str) -> None:
    """Context.pick(target) for a single reference: a count draw (always 1), then the id."""
    ids = filler.pool(target)
    if ids:
        randbelow(rng, 1)
        record[field] = ids[int(rng.random() * (len(ids) + 0.0))]


FAST_FILLS: dict[str, FastFill] = {
    "screenshots": _fast_image("screenshots"),
    "artworks": _fast_image("artworks", ("artwork_type", "artwork_types")),
    "language_supports": _fast_language_support,
}
