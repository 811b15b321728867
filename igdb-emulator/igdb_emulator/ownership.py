"""Which records own which: the declarations every derived table is built from.

An `Owner` says that a parent's ref/refs field lists the ids of child records it owns
(games.artworks -> artworks), and which child field names the parent back (artworks.game).
The parent hands out the child ids when it is made; the child table is then one record per
listed id, so both directions agree. A `Root` is an endpoint nobody lists (characters,
events, game_time_to_beats, ...): a share of the anchor's records (games or companies)
each get one, naming the anchor in `back`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Owner:
    parent: str
    field: str
    back: str | None = None
    # For parents other than games (whose shares come from the learned profile): the share
    # of parent records that own any, and the counts to draw from.
    presence: float = 1.0
    sizes: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class Root:
    anchor: str
    back: str
    share: float  # of the anchor's records; at least one record is always made


def _game(field: str, back: str | None = "game") -> Owner:
    return Owner("games", field, back)


# child endpoint -> its owners; a parent's entry comes before its children's (game_localizations
# before covers), the order Dataset.add_children derives new records in.
OWNERS: dict[str, tuple[Owner, ...]] = {
    "age_ratings": (_game("age_ratings", None),),
    "alternative_names": (_game("alternative_names"),),
    "artworks": (_game("artworks"),),
    "external_games": (_game("external_games"),),
    "game_localizations": (_game("game_localizations"),),
    "covers": (
        _game("cover"),
        Owner("game_localizations", "cover", "game_localization", presence=0.6),
    ),
    "game_videos": (_game("videos"),),
    "involved_companies": (_game("involved_companies"),),
    "language_supports": (_game("language_supports"),),
    "multiplayer_modes": (_game("multiplayer_modes"),),
    "release_dates": (_game("release_dates"),),
    "screenshots": (_game("screenshots"),),
    "websites": (_game("websites"),),
    "company_logos": (Owner("companies", "logo", presence=0.55),),
    "company_websites": (Owner("companies", "websites", presence=0.5, sizes=(1, 1, 2, 3)),),
    "platform_versions": (Owner("platforms", "versions", presence=0.9, sizes=(1, 1, 2)),),
    "platform_logos": (
        Owner("platforms", "platform_logo", presence=0.8),
        Owner("platform_versions", "platform_logo", presence=0.7),
    ),
    "platform_websites": (Owner("platforms", "websites", presence=0.5, sizes=(1, 1, 2)),),
    "platform_version_companies": (
        Owner("platform_versions", "companies", presence=0.8, sizes=(1, 1, 2)),
    ),
    "platform_version_release_dates": (
        Owner(
            "platform_versions",
            "platform_version_release_dates",
            "platform_version",
            presence=0.8,
            sizes=(1, 2, 3),
        ),
    ),
    "game_engine_logos": (Owner("game_engines", "logo", presence=0.5),),
    "character_mug_shots": (Owner("characters", "mug_shot", presence=0.7),),
    "event_logos": (Owner("events", "event_logo", "event", presence=0.9),),
    "event_networks": (Owner("events", "event_networks", "event", presence=0.8, sizes=(1, 2, 3)),),
    "game_version_features": (
        Owner("game_versions", "features", presence=0.9, sizes=(2, 3, 5, 8)),
    ),
    "game_version_feature_values": (
        Owner("game_version_features", "values", "game_feature", presence=0.9, sizes=(1, 2, 3)),
    ),
    # Handed out by derive.relate_collections (a relation names two collections), not by
    # the filler (presence 0); listed so the relation table is derived like any child.
    "collection_relations": (
        Owner("collections", "as_parent_relations", "parent_collection", presence=0.0),
        Owner("collections", "as_child_relations", "child_collection", presence=0.0),
    ),
}

# Shares from IGDB's totals in late 2026 (~375k games): ~30k characters, ~40k time-to-beat
# records, ~10k game versions, ~700 events; a third of companies have a type history.
ROOTS: dict[str, Root] = {
    "characters": Root("games", "games", 0.08),
    "events": Root("games", "games", 0.002),
    "game_time_to_beats": Root("games", "game_id", 0.1),
    "game_versions": Root("games", "game", 0.03),
    "company_type_histories": Root("companies", "company", 0.3),
}

# Lists that mirror another table's references (the "other direction"):
# (endpoint, field) -> (source endpoint, source field): the ids of source records naming it.
MIRRORS: dict[tuple[str, str], tuple[str, str]] = {
    ("network_types", "event_networks"): ("event_networks", "network_type"),
}


# Lists kept in step with the records they name (see dataset._named).
_MIRRORED_ELSEWHERE = {
    ("companies", "developed"),
    ("companies", "published"),
    ("franchises", "games"),
    ("collections", "games"),
}


@cache
def derived_fields(endpoint: str) -> frozenset[str]:
    """Fields another record owns or mirrors: a new record copied from an old one must
    leave them out, or two records would claim the same children."""
    mirrored = {field for name, field in (*MIRRORS, *_MIRRORED_ELSEWHERE) if name == endpoint}
    return frozenset(owned_fields(endpoint)) | mirrored


@cache
def owned_fields(endpoint: str) -> dict[str, tuple[str, Owner]]:
    """The fields of `endpoint` that own children: field -> (child endpoint, declaration)."""
    return {
        owner.field: (child, owner)
        for child, owners in OWNERS.items()
        for owner in owners
        if owner.parent == endpoint
    }


GAME_OWNED: dict[str, str] = {field: child for field, (child, _) in owned_fields("games").items()}
