"""Synthetic IGDB records: games from a learned profile, and the entities games point at.

Everything is a pure function of (seed, ids): the same inputs give byte-identical output.
Child entities (covers, involved_companies, release_dates, ...) are derived from the games
that reference them, so every reference resolves and each child table can be built lazily.
"""

from __future__ import annotations

import _random
import random
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from hashlib import sha512 as _sha512

from igdb_emulator.entities import ENTITIES
from igdb_emulator.lookups import AGE_RATING_CATEGORIES, AGE_RATING_DESCRIPTIONS
from igdb_emulator.ownership import GAME_OWNED
from igdb_emulator.profile import Profile
from igdb_emulator.records import Record, checksum, checksum_of, encode, in_key_order

EMULATOR_EPOCH = int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())
IGDB_FOUNDED = 1297639288  # created_at of IGDB's oldest lookup rows
DAY = 86_400

# game_type mix of igdb-api.md (late 2026); the remaining 10,430 are spread over the others.
GAME_TYPE_WEIGHTS: dict[int, float] = {
    0: 312_418,
    1: 17_615,
    3: 7_134,
    5: 9_779,
    11: 8_227,
    13: 8_952,
    **dict.fromkeys((2, 4, 6, 7, 8, 9, 10, 12, 14), 10430 / 9),
}
GAME_TYPE_NAMES = {
    0: "Main Game",
    1: "DLC",
    2: "Expansion",
    3: "Bundle",
    4: "Standalone Expansion",
    5: "Mod",
    6: "Episode",
    7: "Season",
    8: "Remake",
    9: "Remaster",
    10: "Expanded Game",
    11: "Port",
    12: "Fork",
    13: "Pack",
    14: "Update",
}
GAME_STATUS_NAMES = {
    0: "Released",
    2: "Alpha",
    3: "Beta",
    4: "Early Access",
    5: "Offline",
    6: "Cancelled",
    7: "Rumored",
    8: "Delisted",
}
_GAME_FIELDS = ENTITIES["games"].fields
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NON_SLUG = re.compile(r"[^a-z0-9]+")

# Game array fields listing the game's own children (ownership.GAME_OWNED), in draw order.
_CHILD_FIELDS = (
    "age_ratings",
    "external_games",
    "involved_companies",
    "release_dates",
    "websites",
    "alternative_names",
    "artworks",
    "screenshots",
    "videos",
    "language_supports",
    "game_localizations",
    "multiplayer_modes",
)
_RELATED_GAME_FIELDS = (
    "bundles",
    "dlcs",
    "expansions",
    "expanded_games",
    "ports",
    "remakes",
    "remasters",
    "forks",
    "standalone_expansions",
)


def slugify(name: str) -> str:
    return _NON_SLUG.sub("-", name.lower()).strip("-") or "untitled"


# Random._randbelow, called directly: randint(a, b) is a + _randbelow(b - a + 1) and
# choice(seq) is seq[_randbelow(len(seq))], the same draws without two frames of wrappers.
randbelow: Callable[[random.Random, int], int] = random.Random._randbelow  # type: ignore[attr-defined]
_new_random = random.Random.__new__
_seed_random = _random.Random.seed


def uniform_time(rng: random.Random, low: int, high: int) -> int:
    """rng.randint(low, max(low, high))."""
    return low + randbelow(rng, (high if high > low else low) - low + 1)


def recent_update(rng: random.Random, created_at: int, now: int) -> int:
    """updated_at >= created_at, skewed to the recent past (popular games change often)."""
    draw = rng.random()
    if draw < 0.06:
        low = now - DAY
    elif draw < 0.2:
        low = now - 7 * DAY
    elif draw < 0.45:
        low = now - 90 * DAY
    else:
        low = created_at
    return uniform_time(rng, max(low, created_at), now - 1)


class GameSynth:
    """Generates games one after another; `counters` hand out ids for referenced children."""

    def __init__(self, profile: Profile, seed: int, now: int = EMULATOR_EPOCH) -> None:
        self.profile = profile
        self.seed = seed
        self.now = now
        # the last id handed out per child endpoint (games' children and everyone else's)
        self.counters: dict[str, int] = {}
        self.slugs: set[str] = set()
        self._types = (tuple(GAME_TYPE_WEIGHTS), tuple(_cumulative(GAME_TYPE_WEIGHTS.values())))
        keywords = profile.pools["keywords"]
        self.keyword_ids = keywords + list(range(keywords[-1] + 1, keywords[-1] + 1 + 40_000))
        self.franchise_ids = list(range(1, 4_000))
        self.collection_ids = list(range(1, 14_000))

    def _has(self, rng: random.Random, name: str) -> bool:
        return rng.random() < self.profile.presence.get(name, 0.0)

    def _size(self, rng: random.Random, name: str) -> int:
        sizes = self.profile.sizes.get(name) or [1]  # rng.choice(sizes), unwrapped
        size: int = sizes[randbelow(rng, len(sizes))]
        return size if size > 1 else 1

    def take_ids(self, endpoint: str, count: int) -> list[int]:
        """`count` fresh ids of `endpoint`, above every id handed out or known before."""
        start = self.counters.get(endpoint, 0)
        self.counters[endpoint] = start + count
        return list(range(start + 1, start + count + 1))

    def title(self, rng: random.Random, low: int = 1, high: int = 3) -> str:
        """A name for a non-game record: a few title words, capitalised."""
        return " ".join(rng.choice(self.profile.title_words) for _ in range(rng.randint(low, high)))

    def name(self, rng: random.Random) -> str:
        words = self.profile.title_words
        title = " ".join(rng.choice(words) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
        roll = rng.random()
        if roll < 0.15:
            title += f" {rng.randint(2, 5)}"
        elif roll < 0.3:
            title += ": " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
        return title

    def text(self, rng: random.Random, lengths: list[int]) -> str:
        words = self.profile.text_words
        chosen = rng.choices(words, k=max(3, rng.choice(lengths)))
        return " ".join(chosen).capitalize() + "."

    def game(  # noqa: PLR0912 - one branch per optional field group reads best here
        self, rng: random.Random, game_id: int, created_at: int, all_ids: list[int]
    ) -> Record:
        profile = self.profile
        game_type = rng.choices(self._types[0], cum_weights=self._types[1])[0]
        name = self.name(rng)
        slug = slugify(name)
        while slug in self.slugs:
            slug = f"{slugify(name)}--{rng.randint(1, 999)}"
        self.slugs.add(slug)
        record: Record = {
            "id": game_id,
            "created_at": created_at,
            "game_type": game_type,
            "name": name,
            "slug": slug,
            "url": f"https://www.igdb.com/games/{slug}",
            "updated_at": recent_update(rng, created_at, self.now),
        }
        random_, presence = rng.random, profile.presence.get
        for field_name in ("platforms", "genres", "themes", "game_modes", "player_perspectives"):
            if random_() < presence(field_name, 0.0):
                weighted = profile.references[field_name]
                size = min(self._size(rng, field_name), len(weighted.values))
                picks = rng.choices(weighted.values, cum_weights=weighted.cum_weights, k=size)
                record[field_name] = list(dict.fromkeys(picks))
        for field_name in _CHILD_FIELDS:
            if random_() < presence(field_name, 0.0):
                size = self._size(rng, field_name)
                record[field_name] = self.take_ids(GAME_OWNED[field_name], size)
        if self._has(rng, "cover"):
            record["cover"] = self.take_ids("covers", 1)[0]
        for field_name, pool in (
            ("tags", profile.pools["tags"]),
            ("game_engines", profile.pools["game_engines"]),
            ("keywords", self.keyword_ids),
            ("franchises", self.franchise_ids),
            ("collections", self.collection_ids),
        ):
            if self._has(rng, field_name):
                record[field_name] = sorted(set(rng.choices(pool, k=self._size(rng, field_name))))
        if self._has(rng, "similar_games"):
            record["similar_games"] = rng.sample(all_ids, min(10, len(all_ids)))
        for field_name in _RELATED_GAME_FIELDS:
            if random_() < presence(field_name, 0.0):
                record[field_name] = rng.sample(all_ids, min(self._size(rng, field_name), 3))
        if game_type != 0 and rng.random() < 0.8:
            record["parent_game"] = rng.choice(all_ids)
        if self._has(rng, "version_parent"):
            record["version_parent"] = rng.choice(all_ids)
            record["version_title"] = rng.choice(("Deluxe Edition", "Gold Edition", "GOTY"))
        if self._has(rng, "first_release_date"):
            record["first_release_date"] = uniform_time(rng, 315_532_800, created_at + 400 * DAY)
        if self._has(rng, "summary"):
            record["summary"] = self.text(rng, profile.summary_words)
        if self._has(rng, "storyline"):
            record["storyline"] = self.text(rng, profile.storyline_words)
        if self._has(rng, "hypes"):
            record["hypes"] = max(1, int(rng.expovariate(0.3)))
        self._ratings(rng, record)
        if self._has(rng, "game_status"):
            status = rng.choice((0, 2, 3, 4, 4, 4, 5, 6, 7, 8, 8))
            record["game_status"] = status
            record["status"] = status  # deprecated, still returned alongside game_status
        record["checksum"] = checksum_of(encode(record))  # no checksum key yet: the content
        return in_key_order(record, _GAME_FIELDS)

    def _ratings(self, rng: random.Random, record: Record) -> None:
        rated = self._has(rng, "rating")
        critics = self._has(rng, "aggregated_rating")
        if rated:
            record["rating"] = round(rng.triangular(20.0, 100.0, 72.0), 10)
            record["rating_count"] = max(1, int(rng.paretovariate(1.2)))
        if critics:
            record["aggregated_rating"] = round(rng.triangular(30.0, 100.0, 75.0), 10)
            record["aggregated_rating_count"] = max(1, int(rng.paretovariate(1.5)))
        if rated or critics or self._has(rng, "total_rating"):
            values = [record[key] for key in ("rating", "aggregated_rating") if key in record]
            record["total_rating"] = sum(values) / len(values) if values else rng.uniform(40, 90)
            record["total_rating_count"] = (
                record.get("rating_count", 0) + record.get("aggregated_rating_count", 0) or 1
            )

    def games(self, count: int) -> Iterator[Record]:
        """`count` games with ascending ids (small gaps, as deletions leave in IGDB)."""
        rng = random.Random(self.seed)
        ids: list[int] = []
        next_id = 0
        for _ in range(count):
            next_id += 1 if rng.random() > 0.05 else rng.randint(2, 6)
            ids.append(next_id)
        span = self.now - 30 * DAY - IGDB_FOUNDED
        for index, game_id in enumerate(ids):
            base = IGDB_FOUNDED + span * index // max(1, count)
            created_at = min(self.now - DAY, base + rng.randint(0, 5 * DAY))
            yield self.game(rng, game_id, created_at, ids)


def _cumulative(weights: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def child_rng(seed: int, endpoint: str, owner_id: int) -> random.Random:
    """An independent, reproducible random stream per (seed, endpoint, owner).

    The same stream as `random.Random(f"{seed}:{endpoint}:{owner_id}")` (a str seed is
    hashed to this int by Random.seed), without the str seed's slower path."""
    text = f"{seed}:{endpoint}:{owner_id}".encode()
    rng = _new_random(random.Random)
    _seed_random(rng, int.from_bytes(text + _sha512(text).digest()))  # as Random.seed does
    rng.gauss_next = None  # type: ignore[attr-defined]  # what Random.seed resets
    return rng


def human_date(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{_MONTHS[moment.month - 1]} {moment.day:02d}, {moment.year}"


def _stamps(rng: random.Random, after: int, now: int) -> tuple[int, int]:
    created = uniform_time(rng, max(IGDB_FOUNDED, after), now - DAY)
    return created, recent_update(rng, created, now)


# --- children of one game -----------------------------------------------------------------

ChildMaker = Callable[[random.Random, int, Record, Profile, int], Record]


def _involved_company(
    rng: random.Random, child_id: int, game: Record, profile: Profile, now: int
) -> Record:
    companies = profile.templates["companies"]
    company = rng.choice(companies)["id"] if rng.random() < 0.6 else rng.randint(1, 80_000)
    developer = rng.random() < 0.55
    created, updated = _stamps(rng, game["created_at"], now)
    return {
        "id": child_id,
        "company": company,
        "created_at": created,
        "developer": developer,
        "game": game["id"],
        "porting": rng.random() < 0.04,
        "publisher": not developer or rng.random() < 0.3,
        "supporting": rng.random() < 0.08,
        "updated_at": updated,
    }


def _release_date(
    rng: random.Random, child_id: int, game: Record, profile: Profile, now: int
) -> Record:
    template = rng.choice(profile.templates["release_dates"])
    platforms = game.get("platforms") or [6]
    date = game.get("first_release_date", uniform_time(rng, 315_532_800, now)) + rng.choice(
        (0, 0, 0, DAY * rng.randint(1, 700))
    )
    created, updated = _stamps(rng, game["created_at"], now)
    moment = datetime.fromtimestamp(date, UTC)
    record: Record = {
        "id": child_id,
        "created_at": created,
        "date": date,
        "game": game["id"],
        "human": human_date(date),
        "m": moment.month,
        "platform": rng.choice(platforms),
        "updated_at": updated,
        "y": moment.year,
        "date_format": 0,
        "release_region": template["release_region"],
    }
    if "status" in template:
        record["status"] = template["status"]
    return record


def _cover(rng: random.Random, child_id: int, game: Record, profile: Profile, now: int) -> Record:
    template = rng.choice(profile.templates["covers"])
    image_id = "co" + base36(child_id)
    return {
        "id": child_id,
        "alpha_channel": False,
        "animated": False,
        "game": game["id"],
        "height": template["height"],
        "image_id": image_id,
        "url": image_url(image_id),
        "width": template["width"],
    }


def _website(rng: random.Random, child_id: int, game: Record, profile: Profile, now: int) -> Record:
    template = rng.choice(profile.templates["websites"])
    url = re.sub(r"[^/]+$", game["slug"], template["url"].rstrip("/")) or template["url"]
    return {
        "id": child_id,
        "game": game["id"],
        "trusted": template["trusted"],
        "url": url,
        "type": template["type"],
    }


def _external_game(
    rng: random.Random, child_id: int, game: Record, profile: Profile, now: int
) -> Record:
    template = rng.choice(profile.templates["external_games"])
    created, updated = _stamps(rng, game["created_at"], now)
    record: Record = {
        "id": child_id,
        "created_at": created,
        "game": game["id"],
        "name": game["name"],
        "uid": str(rng.randint(10_000, 3_999_999)),
        "updated_at": updated,
        "external_game_source": template["external_game_source"],
    }
    for key in ("url", "year", "platform", "game_release_format"):
        if key in template:
            record[key] = template[key]
    return record


_AGE_RATING_CATEGORY_IDS = tuple(AGE_RATING_CATEGORIES)


def _age_rating(
    rng: random.Random, child_id: int, game: Record, profile: Profile, now: int
) -> Record:
    category = rng.choice(_AGE_RATING_CATEGORY_IDS)
    organization = AGE_RATING_CATEGORIES[category][0]
    record: Record = {"id": child_id, "organization": organization, "rating_category": category}
    if rng.random() < 0.4:
        own = [key for key, value in AGE_RATING_DESCRIPTIONS.items() if value[0] == organization]
        record["rating_content_descriptions"] = sorted(rng.sample(own, rng.randint(1, 4)))
    return record


# The children of games with a hand-written maker (the others: synth_children.Filler).
CHILD_MAKERS: dict[str, ChildMaker] = {
    "involved_companies": _involved_company,
    "release_dates": _release_date,
    "covers": _cover,
    "websites": _website,
    "external_games": _external_game,
    "age_ratings": _age_rating,
}


# --- shared entities (many games point at one) --------------------------------------------


def derive_named(
    endpoint: str,
    referenced: dict[int, list[int]],
    *,
    known: dict[int, Record],
    seed: int,
    now: int,
    words: list[str],
) -> list[Record]:
    """Keywords, companies, franchises, collections: one record per referenced id.

    `referenced` maps id -> the games (or, for companies, nothing) that point at it.
    """
    records = {record_id: dict(record) for record_id, record in known.items()}  # no aliasing
    for record_id in sorted(set(referenced) - set(records)):
        rng = child_rng(seed, endpoint, record_id)
        name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))).title()
        if endpoint == "companies":
            name += rng.choice(("", " Games", " Studios", " Interactive", " Entertainment"))
        slug = f"{slugify(name)}--{record_id}" if endpoint != "keywords" else slugify(name)
        created, updated = _stamps(rng, IGDB_FOUNDED, now)
        record: Record = {
            "id": record_id,
            "created_at": created,
            "name": name.lower() if endpoint == "keywords" else name,
            "slug": slug,
            "updated_at": updated,
            "url": f"https://www.igdb.com/{endpoint}/{slug}",
        }
        if endpoint == "companies":
            record.update(
                country=rng.choice((840, 392, 826, 124, 250, 276, 752)),
                start_date=uniform_time(rng, 0, now - 365 * DAY),
                status=0,
                start_date_format=rng.choice((0, 2, 7)),
            )
        if endpoint == "collections":
            record["type"] = 1
        records[record_id] = record
    for endpoint_games in ("franchises", "collections"):
        if endpoint == endpoint_games:
            for record_id, record in records.items():
                if referenced.get(record_id):
                    record["games"] = sorted(set(referenced[record_id]))
    return [records[record_id] for record_id in sorted(records)]


def derive_popularity(games: Iterable[Record], share: float, seed: int, now: int) -> list[Record]:
    """popularity_primitives for a share of the games (Visits and Want to Play, as on IGDB)."""
    records: list[Record] = []
    next_id = 0
    for game in games:
        rng = child_rng(seed, "popularity_primitives", game["id"])
        if rng.random() >= share:
            continue
        for popularity_type in (1, 2):
            next_id += 1
            calculated_at = uniform_time(rng, now - 7 * DAY, now - 1)
            records.append(
                {
                    "id": next_id,
                    "calculated_at": calculated_at,
                    "created_at": uniform_time(rng, game["created_at"], calculated_at),
                    "external_popularity_source": 121,
                    "game_id": game["id"],
                    "popularity_type": popularity_type,
                    "updated_at": calculated_at,
                    "value": round(rng.paretovariate(2.0) / 1000, 10),
                }
            )
    return records


def enum_records(
    endpoint: str, names: dict[int, str], key: str, known: list[Record]
) -> list[Record]:
    """Complete enum tables: the real rows plus the documented values the sample lacks."""
    records = {record["id"]: record for record in known}
    for record_id, name in names.items():
        records.setdefault(record_id, {"id": record_id, key: name})
    return [records[record_id] for record_id in sorted(records)]


def complete(endpoint: str, record: Record, now: int) -> Record:
    """Fill what real IGDB always returns but a sample left out, deterministically per id.

    created_at/updated_at (when the entity has them), url from slug, and the checksum.
    """
    fields = ENTITIES[endpoint].field_set
    filled = dict(record)
    missing_stamps = {"created_at", "updated_at"} & fields - set(filled)
    if missing_stamps:  # generated records have theirs: seeding a stream per record is dear
        rng = child_rng(0, endpoint, record["id"])
        if "updated_at" in missing_stamps:
            filled["updated_at"] = uniform_time(rng, IGDB_FOUNDED, now - 30 * DAY)
        if "created_at" in missing_stamps:
            updated = filled.get("updated_at", now - 30 * DAY)
            filled["created_at"] = (
                uniform_time(rng, IGDB_FOUNDED, updated) if updated > IGDB_FOUNDED else updated
            )
    if "url" in fields and "url" not in filled and "slug" in filled:
        filled["url"] = f"https://www.igdb.com/{endpoint}/{filled['slug']}"
    if "checksum" in fields and "checksum" not in filled:
        filled["checksum"] = checksum(in_key_order(filled, ENTITIES[endpoint].fields))
    return filled


def completer(endpoint: str, now: int) -> Callable[[Record], Record]:
    """`complete` for many records of one endpoint, resolved once: a record that lacks
    only its checksum is returned as it is (the table's row encoder adds the checksum)."""
    fields = ENTITIES[endpoint].field_set
    stamps = {"created_at", "updated_at"} & fields
    has_url = "url" in fields

    def complete_one(record: Record) -> Record:
        keys = record.keys()
        if (stamps and not stamps <= keys) or (has_url and "url" not in keys and "slug" in keys):
            return complete(endpoint, record, now)
        return record

    return complete_one


def image_url(image_id: str) -> str:
    """The thumbnail URL IGDB gives an image record (scheme-relative, as IGDB serves it)."""
    return f"//images.igdb.com/igdb/image/upload/t_thumb/{image_id}.jpg"


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text or "0"
