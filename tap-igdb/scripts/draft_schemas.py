# ruff: noqa: E501  (description strings read best unwrapped)
"""Draft the schema of every IGDB endpoint the tap has none for, from IGDB's protobuf.

Provenance tool, run by a maintainer (not by the tap or the tests):

    .tools/bin/uv run --no-project --with igdb-api-v4==0.3.3 \
        python tap-igdb/scripts/draft_schemas.py

IGDB's protobuf definition (the compiled `igdbapi_pb2` of the PyPI package
igdb-api-v4) gives the fields, their numbers (IGDB's JSON key order) and their
types; it predates IGDB's 2025 migration, so the fields and tables that migration
added are declared below (`ADDED_2025`, `TABLES_2025`) from IGDB's API reference
and marked inferred (docs/decisions/0009-every-igdb-endpoint.md). The enum fields
the migration replaced stay, marked deprecated, while IGDB still returns them.

Writes `tap-igdb/tap_igdb/schemas/<endpoint>.json` for endpoints without one (an
existing schema is never overwritten: it is the reviewed fact) and prints the
field order of every new endpoint for the emulator's catalogue.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "tap_igdb" / "schemas"
NOT_ENTITIES = {"Count", "MultiQueryResultArray", "Search", "TestDummy"}
TIMESTAMP = "Timestamp"

# Fields the 2025 migration added to pre-2025 messages: (field, kind, target endpoint).
ADDED_2025: dict[str, list[tuple[str, str, str | None]]] = {
    "artworks": [("artwork_type", "ref", "artwork_types")],
    "characters": [
        ("character_gender", "ref", "character_genders"),
        ("character_species", "ref", "character_species"),
    ],
    "company_websites": [("type", "ref", "website_types")],
    "platform_websites": [("type", "ref", "website_types")],
    "platform_version_release_dates": [
        ("date_format", "ref", "date_formats"),
        ("release_region", "ref", "release_date_regions"),
    ],
    "age_rating_content_descriptions": [("organization", "ref", "age_rating_organizations")],
}
# The enum fields those additions replace: field -> its replacement.
REPLACED_2025: dict[str, dict[str, str]] = {
    "characters": {"gender": "character_gender", "species": "character_species"},
    "company_websites": {"category": "type"},
    "platform_websites": {"category": "type"},
    "platform_version_release_dates": {"category": "date_format", "region": "release_region"},
    "age_rating_content_descriptions": {"category": "organization"},
}
_STAMPS = [
    ("created_at", "time", None),
    ("updated_at", "time", None),
    ("checksum", "string", None),
]
# Tables IGDB added in 2025 (no protobuf message): fields in IGDB's key order.
TABLES_2025: dict[str, list[tuple[str, str, str | None]]] = {
    "age_rating_categories": [
        ("rating", "string", None),
        ("organization", "ref", "age_rating_organizations"),
        *_STAMPS,
    ],
    "age_rating_content_description_types": [("name", "string", None), *_STAMPS],
    "age_rating_content_descriptions_v2": [
        ("description", "string", None),
        ("organization", "ref", "age_rating_organizations"),
        ("description_type", "ref", "age_rating_content_description_types"),
        *_STAMPS,
    ],
    "age_rating_organizations": [("name", "string", None), *_STAMPS],
    "artwork_types": [("slug", "string", None), ("name", "string", None), *_STAMPS],
    "character_genders": [("name", "string", None), *_STAMPS],
    "character_species": [("name", "string", None), *_STAMPS],
    "company_sizes": [("name", "string", None), *_STAMPS],
    "company_statuses": [("name", "string", None), *_STAMPS],
    "company_types": [("name", "string", None), *_STAMPS],
    "company_type_histories": [
        ("company", "ref", "companies"),
        ("company_type", "ref", "company_types"),
        ("start_date", "time", None),
        *_STAMPS,
    ],
    "date_formats": [("format", "string", None), *_STAMPS],
    "external_game_sources": [("name", "string", None), *_STAMPS],
    "game_release_formats": [("format", "string", None), *_STAMPS],
    "game_time_to_beats": [
        ("game_id", "ref", "games"),
        ("hastily", "int", None),
        ("normally", "int", None),
        ("completely", "int", None),
        ("count", "int", None),
        *_STAMPS,
    ],
    "release_date_regions": [("region", "string", None), *_STAMPS],
    "website_types": [("type", "string", None), *_STAMPS],
}

DESCRIPTIONS = {
    "age_rating_categories": "Age rating categories: the ratings each organization gives (PEGI 18, ESRB M, GRAC 15, ...), the values of age_ratings.rating_category.",
    "age_rating_content_description_types": "Kinds of age rating content description (violence, language, ...).",
    "age_rating_content_descriptions": "Age rating content descriptors (the pre-2025 table; age_ratings now reference age_rating_content_descriptions_v2).",
    "age_rating_content_descriptions_v2": "Age rating content descriptors per organization (the 2025 table age_ratings reference).",
    "age_rating_organizations": "Age rating organizations (ESRB, PEGI, CERO, USK, GRAC, CLASS_IND, ACB).",
    "alternative_names": "Alternative and international names of games.",
    "artworks": "Official artworks of games (image ids for images.igdb.com).",
    "artwork_types": "Kinds of artwork (key art, concept art, ...).",
    "characters": "Video game characters.",
    "character_genders": "Genders of characters.",
    "character_mug_shots": "Portrait images of characters.",
    "character_species": "Species of characters.",
    "collection_memberships": "Which games belong to which collection, and how.",
    "collection_membership_types": "Kinds of collection membership.",
    "collection_relations": "Parent-child relations between collections.",
    "collection_relation_types": "Kinds of relation between collections.",
    "collection_types": "Kinds of collection (series, ...).",
    "company_logos": "Logos of companies.",
    "company_sizes": "Company size classes.",
    "company_statuses": "Company statuses (active, defunct, merged, ...), the values of companies.status.",
    "company_types": "Kinds of company.",
    "company_type_histories": "The kinds a company has had over time.",
    "company_websites": "Websites of companies.",
    "date_formats": "Precision of a date (YYYY-MM-DD, YYYY-MM, YYYY, quarter, TBD), the values of date_format fields.",
    "events": "Gaming events (showcases, conferences, ...).",
    "event_logos": "Logos of events.",
    "event_networks": "Where events were streamed.",
    "external_game_sources": "External services (Steam, GOG, Epic, ...), the values of external_games.external_game_source.",
    "game_engines": "Game engines.",
    "game_engine_logos": "Logos of game engines.",
    "game_localizations": "Regional titles and covers of games.",
    "game_release_formats": "Release media (physical, digital), the values of external_games.game_release_format.",
    "game_time_to_beats": "Average time to beat a game (hastily, normally, completely), in seconds.",
    "game_versions": "Editions of games (the versions of one game and their features).",
    "game_version_features": "Features that differ between editions of a game.",
    "game_version_feature_values": "The value of an edition feature for one game.",
    "game_videos": "Videos of games (YouTube ids).",
    "languages": "Languages (with locale and native name).",
    "language_supports": "Which language a game supports, and how (audio, subtitles, interface).",
    "language_support_types": "Kinds of language support (audio, subtitles, interface).",
    "multiplayer_modes": "Multiplayer capabilities of a game on a platform.",
    "network_types": "Kinds of event network (Twitch, YouTube, ...).",
    "platform_families": "Platform families (PlayStation, Xbox, Nintendo, ...).",
    "platform_logos": "Logos of platforms.",
    "platform_versions": "Versions (models) of platforms, with their hardware.",
    "platform_version_companies": "Companies that made a platform version.",
    "platform_version_release_dates": "Release dates of platform versions per region.",
    "platform_websites": "Websites of platforms.",
    "regions": "Regions and locales of game localizations.",
    "release_date_regions": "Release regions (Europe, North America, Korea, ...), the values of release_dates.release_region.",
    "release_date_statuses": "Release statuses (alpha, beta, early access, full release, ...).",
    "screenshots": "Screenshots of games.",
    "website_types": "Kinds of website (official, Steam, Wikipedia, ...), the values of websites.type.",
}
INFERRED = set(TABLES_2025) | set(ADDED_2025)

FIELD_WORDS = {
    "id": "IGDB id of the record (primary key).",
    "checksum": "Hash of the object's content (UUID-shaped); the same checksum means the same object.",
    "created_at": "When the record was created at IGDB.",
    "updated_at": "When the record last changed at IGDB (the incremental replication key where present).",
    "name": "Name.",
    "slug": "URL-safe unique name.",
    "url": "Address of the record's page (on igdb.com for entities, the site itself for websites).",
    "description": "Description.",
    "image_id": "Image id: https://images.igdb.com/igdb/image/upload/t_{size}/{image_id}.jpg.",
    "width": "Image width in pixels.",
    "height": "Image height in pixels.",
    "alpha_channel": "Whether the image has an alpha channel.",
    "animated": "Whether the image is animated.",
    "trusted": "Whether IGDB verified the website.",
    "comment": "Free-text note.",
    "human": "The date as IGDB shows it (e.g. 'Mar 03, 2017').",
    "y": "Year of the date.",
    "m": "Month of the date (1-12).",
    "date": "The date (unix seconds, UTC midnight of the day).",
    "akas": "Other names the character is known by.",
    "game": "Id of the game.",
    "games": "Ids of the games.",
    "company": "Id of the company.",
    "platform": "Id of the platform.",
    "uid": "The record's id at the external service.",
    "value": "The measured value.",
    "locale": "Locale code (e.g. ko-KR).",
    "native_name": "The language's name in that language.",
    "video_id": "YouTube video id.",
    "position": "Order of the feature in its list.",
    "title": "Title.",
    "note": "Free-text note on the value.",
}


def endpoint_of(message: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", message).lower()
    if snake.endswith("y") and not snake.endswith("ey"):
        return snake[:-1] + "ies"
    if snake.endswith("s"):
        return snake + "es"
    return snake + "s"


def proto_fields(message: Any) -> list[tuple[str, str, str | None]]:
    fields: list[tuple[str, str, str | None]] = []
    for field in message.fields:
        repeated = field.is_repeated
        if field.message_type is not None and field.message_type.name == TIMESTAMP:
            kind, target = "time", None
        elif field.message_type is not None:
            kind, target = ("refs" if repeated else "ref"), endpoint_of(field.message_type.name)
        elif field.enum_type is not None:
            kind, target = "enum", None
        else:
            scalar = {1: "number", 2: "number", 8: "bool", 9: "string"}.get(field.type, "int")
            kind, target = (scalar + "s" if repeated else scalar), None
        fields.append((field.name, kind, target))
    return fields


def property_schema(endpoint: str, name: str, kind: str, target: str | None) -> dict[str, Any]:
    nullable = {
        "int": "integer",
        "time": "integer",
        "ref": "integer",
        "enum": "integer",
        "number": "number",
        "string": "string",
        "bool": "boolean",
    }
    if name == "id":
        return {"type": "integer", "description": FIELD_WORDS["id"]}
    if kind in ("refs", "ints", "strings", "numbers", "bools"):
        item = {"refs": "integer", "ints": "integer", "strings": "string"}.get(kind, "number")
        spec: dict[str, Any] = {"type": ["array", "null"], "items": {"type": item}}
    else:
        spec = {"type": [nullable[kind], "null"]}
    replaced = REPLACED_2025.get(endpoint, {})
    if kind == "enum":
        if name in replaced:
            spec["description"] = (
                f"Deprecated: use {replaced[name]} (a pre-2025 enum code; still returned by IGDB)."
            )
            spec["deprecated"] = True
        else:
            spec["description"] = f"{name.replace('_', ' ').capitalize()} (an IGDB enum code)."
        spec["x-igdb"] = {"kind": "enum"}
        return spec
    words = FIELD_WORDS.get(name)
    if kind in ("ref", "refs"):
        spec["description"] = words or (
            f"Ids of {target} records." if kind == "refs" else f"Id of a {target} record."
        )
        spec["x-igdb"] = {"kind": "reference", "endpoint": target}
    elif kind == "time":
        spec["description"] = words or f"{name.replace('_', ' ').capitalize()} (unix seconds, UTC)."
        spec["x-igdb"] = {"kind": "unix_seconds"}
    else:
        spec["description"] = words or f"{name.replace('_', ' ').capitalize()}."
    return spec


def schema_document(endpoint: str, fields: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    inferred = (
        " Fields inferred from IGDB's API reference (no protobuf message predates the table)."
        if endpoint in TABLES_2025
        else " Fields from IGDB's protobuf definition, plus the fields its 2025 migration added (inferred)."
        if endpoint in INFERRED
        else ""
    )
    properties = {
        name: property_schema(endpoint, name, kind, target)
        for name, kind, target in sorted(fields, key=lambda item: (item[0] != "id", item[0]))
    }
    return {
        "description": (
            f"IGDB v4 /{endpoint}: {DESCRIPTIONS[endpoint]} Records exactly as `fields *` "
            "returns them: references as bare ids, times as unix seconds, absent fields "
            f"omitted (never null).{inferred}"
        ),
        "type": "object",
        "properties": properties,
        "required": ["id"],
        "additionalProperties": True,
    }


def main() -> int:
    from igdb import igdbapi_pb2  # type: ignore[import-not-found]  # noqa: PLC0415  # only this tool needs it

    catalogue: dict[str, list[tuple[str, str, str | None]]] = {}
    for message_name, message in igdbapi_pb2.DESCRIPTOR.message_types_by_name.items():
        if message_name.endswith("Result") or message_name in NOT_ENTITIES:
            continue
        endpoint = endpoint_of(message_name)
        catalogue[endpoint] = proto_fields(message) + ADDED_2025.get(endpoint, [])
    for endpoint, fields in TABLES_2025.items():
        catalogue.setdefault(endpoint, [("id", "int", None), *fields])
    written = []
    for endpoint, fields in sorted(catalogue.items()):
        path = SCHEMAS / f"{endpoint}.json"
        if path.exists():
            continue
        path.write_text(json.dumps(schema_document(endpoint, fields), indent=2) + "\n")
        written.append(endpoint)
    json.dump({endpoint: catalogue[endpoint] for endpoint in written}, sys.stdout, indent=None)
    print(f"\nwrote {len(written)} schemas", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
