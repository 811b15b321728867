"""The IGDB endpoints the emulator serves and each entity's fields in response key order.

IGDB writes keys in protobuf field-number order: `id` first, then the older fields
alphabetically, then `checksum`, then fields added later. The orders below follow
igdb.proto and agree with every record of the real samples (a test checks that).
Deprecated fields IGDB no longer returns (`category`, `collection`, `follows`, ...)
are left out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """One IGDB endpoint: its name and the fields its records may carry, in key order."""

    name: str
    fields: tuple[str, ...]

    @property
    def field_set(self) -> frozenset[str]:
        return frozenset(self.fields)

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self.fields


_LOOKUP_FIELDS = ("id", "created_at", "name", "slug", "updated_at", "url", "checksum")

GAME_FIELDS = (
    "id",
    "age_ratings",
    "aggregated_rating",
    "aggregated_rating_count",
    "alternative_names",
    "artworks",
    "bundles",
    "cover",
    "created_at",
    "dlcs",
    "expansions",
    "external_games",
    "first_release_date",
    "franchise",
    "franchises",
    "game_engines",
    "game_modes",
    "genres",
    "hypes",
    "involved_companies",
    "keywords",
    "multiplayer_modes",
    "name",
    "parent_game",
    "platforms",
    "player_perspectives",
    "rating",
    "rating_count",
    "release_dates",
    "screenshots",
    "similar_games",
    "slug",
    "standalone_expansions",
    "status",
    "storyline",
    "summary",
    "tags",
    "themes",
    "total_rating",
    "total_rating_count",
    "updated_at",
    "url",
    "version_parent",
    "version_title",
    "videos",
    "websites",
    "checksum",
    "remakes",
    "remasters",
    "expanded_games",
    "ports",
    "forks",
    "language_supports",
    "game_localizations",
    "collections",
    "game_status",
    "game_type",
)

_ENTITIES = (
    Entity("games", GAME_FIELDS),
    Entity(
        "platforms",
        (
            "id",
            "abbreviation",
            "alternative_name",
            "created_at",
            "generation",
            "name",
            "platform_logo",
            "platform_family",
            "slug",
            "summary",
            "updated_at",
            "url",
            "versions",
            "websites",
            "checksum",
            "platform_type",
        ),
    ),
    Entity("genres", _LOOKUP_FIELDS),
    Entity("game_modes", _LOOKUP_FIELDS),
    Entity("themes", _LOOKUP_FIELDS),
    Entity("player_perspectives", _LOOKUP_FIELDS),
    Entity("keywords", _LOOKUP_FIELDS),
    Entity(
        "involved_companies",
        (
            "id",
            "company",
            "created_at",
            "developer",
            "game",
            "porting",
            "publisher",
            "supporting",
            "updated_at",
            "checksum",
        ),
    ),
    Entity(
        "companies",
        (
            "id",
            "change_date",
            "changed_company_id",
            "country",
            "created_at",
            "description",
            "developed",
            "logo",
            "name",
            "parent",
            "published",
            "slug",
            "start_date",
            "updated_at",
            "url",
            "websites",
            "checksum",
            "status",
            "start_date_format",
            "change_date_format",
        ),
    ),
    Entity(
        "release_dates",
        (
            "id",
            "created_at",
            "date",
            "game",
            "human",
            "m",
            "platform",
            "updated_at",
            "y",
            "checksum",
            "status",
            "date_format",
            "release_region",
        ),
    ),
    Entity(
        "covers",
        (
            "id",
            "alpha_channel",
            "animated",
            "game",
            "height",
            "image_id",
            "url",
            "width",
            "checksum",
            "game_localization",
        ),
    ),
    Entity(
        "franchises", ("id", "created_at", "games", "name", "slug", "updated_at", "url", "checksum")
    ),
    Entity(
        "collections",
        (
            "id",
            "as_child_relations",
            "as_parent_relations",
            "created_at",
            "games",
            "name",
            "slug",
            "type",
            "updated_at",
            "url",
            "checksum",
        ),
    ),
    Entity(
        "age_ratings",
        (
            "id",
            "checksum",
            "rating_cover_url",
            "synopsis",
            "organization",
            "rating_category",
            "rating_content_descriptions",
        ),
    ),
    Entity("websites", ("id", "game", "trusted", "url", "checksum", "type")),
    Entity(
        "external_games",
        (
            "id",
            "created_at",
            "game",
            "name",
            "uid",
            "updated_at",
            "url",
            "year",
            "platform",
            "countries",
            "checksum",
            "external_game_source",
            "game_release_format",
        ),
    ),
    Entity("game_types", ("id", "checksum", "created_at", "type", "updated_at")),
    Entity("game_statuses", ("id", "checksum", "created_at", "status", "updated_at")),
    Entity("platform_types", ("id", "checksum", "created_at", "name", "updated_at")),
    Entity(
        "popularity_primitives",
        (
            "id",
            "calculated_at",
            "checksum",
            "created_at",
            "external_popularity_source",
            "game_id",
            "popularity_type",
            "updated_at",
            "value",
        ),
    ),
    Entity(
        "popularity_types",
        ("id", "checksum", "created_at", "external_popularity_source", "name", "updated_at"),
    ),
)

ENTITIES: dict[str, Entity] = {entity.name: entity for entity in _ENTITIES}


def entity(name: str) -> Entity:
    """The entity served at `name`; KeyError for an endpoint IGDB would answer with 404."""
    return ENTITIES[name]
