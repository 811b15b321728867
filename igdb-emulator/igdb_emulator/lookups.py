"""Fixed rows of IGDB's small lookup tables (`*_types`, `*_statuses`, organizations, ...).

IGDB's own values where they are known (the pre-2025 enums the tables replaced keep their
codes as ids, e.g. date_formats 0-7, release_date_regions 1-10); the real sample rows win
for the same id (see dataset.py). Every id the generator writes into a reference to one of
these tables is one of the ids below.
"""

from __future__ import annotations

from igdb_emulator.records import Record


def _rows(key: str, names: dict[int, str]) -> list[Record]:
    return [{"id": record_id, key: name} for record_id, name in names.items()]


def _numbered(key: str, *names: str, first: int = 1) -> list[Record]:
    return _rows(key, dict(enumerate(names, start=first)))


AGE_RATING_ORGANIZATIONS = {
    1: "ESRB",
    2: "PEGI",
    3: "CERO",
    4: "USK",
    5: "GRAC",
    6: "CLASS_IND",
    7: "ACB",
}
# age_rating_categories keep the old `rating` enum codes as ids: id -> (organization, rating)
AGE_RATING_CATEGORIES: dict[int, tuple[int, str]] = {
    1: (2, "Three"),
    2: (2, "Seven"),
    3: (2, "Twelve"),
    4: (2, "Sixteen"),
    5: (2, "Eighteen"),
    6: (1, "RP"),
    7: (1, "EC"),
    8: (1, "E"),
    9: (1, "E10"),
    10: (1, "T"),
    11: (1, "M"),
    12: (1, "AO"),
    13: (3, "A"),
    14: (3, "B"),
    15: (3, "C"),
    16: (3, "D"),
    17: (3, "Z"),
    18: (4, "0"),
    19: (4, "6"),
    20: (4, "12"),
    21: (4, "16"),
    22: (4, "18"),
    23: (5, "ALL"),
    24: (5, "Twelve"),
    25: (5, "Fifteen"),
    26: (5, "Eighteen"),
    27: (5, "TESTING"),
    28: (6, "L"),
    29: (6, "Ten"),
    30: (6, "Twelve"),
    31: (6, "Fourteen"),
    32: (6, "Sixteen"),
    33: (6, "Eighteen"),
    34: (7, "G"),
    35: (7, "PG"),
    36: (7, "M"),
    37: (7, "MA15"),
    38: (7, "R18"),
    39: (7, "RC"),
}
_DESCRIPTION_TYPES = {
    1: "Violence",
    2: "Blood and Gore",
    3: "Language",
    4: "Sexual Content",
    5: "Drugs",
    6: "Gambling",
    7: "Fear",
    8: "In-Game Purchases",
}
# age_rating_content_descriptions(_v2): id -> (organization, description type, text)
AGE_RATING_DESCRIPTIONS: dict[int, tuple[int, int, str]] = {}
for _organization in AGE_RATING_ORGANIZATIONS:
    for _type, _text in _DESCRIPTION_TYPES.items():
        _id = len(AGE_RATING_DESCRIPTIONS) + 1
        AGE_RATING_DESCRIPTIONS[_id] = (_organization, _type, _text)

# The old games.status / release_dates.region codes are these tables' ids.
DATE_FORMATS = {0: "YYYYMMMMDD", 1: "YYYYMMMM", 2: "YYYY"}
DATE_FORMATS.update({3 + quarter: f"YYYYQ{quarter + 1}" for quarter in range(4)})
DATE_FORMATS[7] = "TBD"
RELEASE_DATE_REGIONS = {
    1: "europe",
    2: "north_america",
    3: "australia",
    4: "new_zealand",
    5: "japan",
    6: "china",
    7: "asia",
    8: "worldwide",
    9: "korea",
    10: "brazil",
}
EXTERNAL_GAME_SOURCES = {
    1: "Steam",
    3: "GamersGate",
    5: "GOG",
    10: "Youtube",
    11: "Microsoft",
    13: "Apple",
    14: "Twitch",
    15: "Android",
    20: "Amazon Asin",
    22: "Amazon Luna",
    23: "Amazon ADG",
    26: "Epic Game Store",
    28: "Oculus",
    29: "Utomik",
    30: "Itch.io",
    31: "Xbox Marketplace",
    32: "Kartridge",
    36: "PlayStation Store US",
    37: "Focus Entertainment",
    54: "Xbox Game Pass Ultimate Cloud",
    55: "Gamejolt",
    121: "IGDB",  # popularity_types' source for Visits, Want to Play, ...
}
WEBSITE_TYPES = {
    1: "Official Website",
    2: "Community Wiki",
    3: "Wikipedia",
    4: "Facebook",
    5: "Twitter",
    6: "Twitch",
    8: "Instagram",
    9: "Youtube",
    10: "App Store (iPhone)",
    11: "App Store (iPad)",
    12: "Google Play",
    13: "Steam",
    14: "Subreddit",
    15: "Itch",
    16: "Epic",
    17: "GOG",
    18: "Discord",
    19: "Bluesky",
    22: "Xbox",
    23: "Playstation",
    24: "Nintendo",
    25: "Meta",
}
RELEASE_DATE_STATUSES = {
    1: ("Alpha", "An early, incomplete build"),
    2: ("Beta", "A feature complete build under test"),
    3: ("Early Access", "Playable and sold before its full release"),
    4: ("Offline", "No longer playable: its servers are shut down"),
    5: ("Cancelled", "Announced, never released"),
    6: ("Full Release", "The complete game, generally available"),
    34: ("Advanced Access", "Playable early by buyers of a premium edition"),
    35: ("Digital Compatibility Release", "Playable on a newer platform by compatibility"),
    36: ("Next-Gen Optimization Release", "Improved for a newer platform generation"),
}
CHARACTER_GENDERS = {1: "Male", 2: "Female", 3: "Other"}  # old gender enum = id - 1
CHARACTER_SPECIES = {1: "Human", 2: "Alien", 3: "Animal", 4: "Android", 5: "Unknown"}
COLLECTION_TYPES = {
    1: ("Collection", "A series of related games"),
    2: ("Franchise Series", "A series within a franchise"),
    3: ("Compilation", "Games released together"),
}
LANGUAGES: dict[int, tuple[str, str, str]] = {
    1: ("Arabic", "العربية", "ar"),
    2: ("Chinese (Simplified)", "简体中文", "zh-CN"),
    3: ("Chinese (Traditional)", "繁體中文", "zh-TW"),
    4: ("Czech", "čeština", "cs-CZ"),
    5: ("Danish", "Dansk", "da-DK"),
    6: ("Dutch", "Nederlands", "nl-NL"),
    7: ("English", "English (US)", "en-US"),
    8: ("English (UK)", "English (UK)", "en-GB"),
    9: ("Spanish (Spain)", "Español (España)", "es-ES"),
    10: ("Spanish (Mexico)", "Español (Mexico)", "es-MX"),
    11: ("Finnish", "Suomi", "fi-FI"),
    12: ("French", "Français", "fr-FR"),
    13: ("Hebrew", "עברית", "he-IL"),
    14: ("Hungarian", "Magyar", "hu-HU"),
    15: ("Italian", "Italiano", "it-IT"),
    16: ("Japanese", "日本語", "ja-JP"),
    17: ("Korean", "한국어", "ko-KR"),
    18: ("Norwegian", "Norsk", "nb-NO"),
    19: ("Polish", "Polski", "pl-PL"),
    20: ("Portuguese (Portugal)", "Português (Portugal)", "pt-PT"),
    21: ("Portuguese (Brazil)", "Português (Brasil)", "pt-BR"),
    22: ("Russian", "Русский", "ru-RU"),
    23: ("Swedish", "Svenska", "sv-SE"),
    24: ("Turkish", "Türkçe", "tr-TR"),
    25: ("Thai", "ไทย", "th-TH"),
    26: ("Vietnamese", "Tiếng Việt", "vi-VN"),
    27: ("German", "Deutsch", "de-DE"),
    28: ("Ukrainian", "українська", "uk-UA"),
}
REGIONS: dict[int, tuple[str, str, str]] = {
    1: ("Europe", "continent", "EU"),
    2: ("North America", "continent", "NA"),
    3: ("Australia", "country", "AU"),
    4: ("New Zealand", "country", "NZ"),
    5: ("Japan", "country", "JP"),
    6: ("China", "country", "CN"),
    7: ("Asia", "continent", "AS"),
    8: ("Worldwide", "continent", "WW"),
    9: ("Korea", "country", "KR"),
    10: ("Brazil", "country", "BR"),
}
PLATFORM_FAMILIES = {1: "PlayStation", 2: "Xbox", 3: "Sega", 4: "Linux", 5: "Nintendo"}


def _collection_rows() -> dict[str, list[Record]]:
    described = {
        "collection_membership_types": {
            1: ("Main Entry", "A numbered game of the collection", 1),
            2: ("Spin-off", "A game set in the collection's world", 1),
            3: ("Included", "A game shipped as part of a compilation", 3),
        },
        "collection_relation_types": {
            1: ("Sub-series", "The child collection continues the parent's series", 1),
            2: ("Part of franchise series", "The child belongs to the parent series", 2),
        },
    }
    rows: dict[str, list[Record]] = {
        "collection_types": [
            {"id": i, "name": name, "description": text}
            for i, (name, text) in COLLECTION_TYPES.items()
        ],
        "collection_membership_types": [
            {"id": i, "name": name, "description": text, "allowed_collection_type": allowed}
            for i, (name, text, allowed) in described["collection_membership_types"].items()
        ],
        "collection_relation_types": [
            {
                "id": i,
                "name": name,
                "description": text,
                "allowed_child_type": allowed,
                "allowed_parent_type": 1,
            }
            for i, (name, text, allowed) in described["collection_relation_types"].items()
        ],
    }
    return rows


def lookup_rows() -> dict[str, list[Record]]:
    """Every fixed lookup table, endpoint -> rows (without created_at/updated_at/checksum)."""
    tables: dict[str, list[Record]] = {
        "age_rating_organizations": _rows("name", AGE_RATING_ORGANIZATIONS),
        "age_rating_categories": [
            {"id": i, "rating": rating, "organization": organization}
            for i, (organization, rating) in AGE_RATING_CATEGORIES.items()
        ],
        "age_rating_content_description_types": _rows("name", _DESCRIPTION_TYPES),
        "age_rating_content_descriptions_v2": [
            {"id": i, "description": text, "organization": org, "description_type": kind}
            for i, (org, kind, text) in AGE_RATING_DESCRIPTIONS.items()
        ],
        "age_rating_content_descriptions": [
            # the deprecated endpoint: `category` is the old per-organization code
            {"id": i, "category": i, "description": text, "organization": org}
            for i, (org, _, text) in AGE_RATING_DESCRIPTIONS.items()
        ],
        "artwork_types": [
            {"id": i, "slug": name.lower().replace(" ", "-"), "name": name}
            for i, name in enumerate(
                ("Concept Art", "Key Art", "Key Art Logo", "Screenshot Art", "Wallpaper"), 1
            )
        ],
        "character_genders": _rows("name", CHARACTER_GENDERS),
        "character_species": _rows("name", CHARACTER_SPECIES),
        "company_sizes": _numbered(
            "name", "1-10", "11-50", "51-200", "201-500", "501-1000", "1000+"
        ),
        "company_statuses": _numbered("name", "Active", "Defunct", "Merged", "Renamed", first=0),
        "company_types": _numbered(
            "name", "Developer", "Publisher", "Porting", "Supporting", "Manufacturer"
        ),
        "date_formats": _rows("format", DATE_FORMATS),
        "external_game_sources": _rows("name", EXTERNAL_GAME_SOURCES),
        "game_release_formats": _numbered("format", "Physical", "Digital"),
        "language_support_types": _numbered("name", "Audio", "Subtitles", "Interface"),
        "languages": [
            {"id": i, "name": name, "native_name": native, "locale": locale}
            for i, (name, native, locale) in LANGUAGES.items()
        ],
        "network_types": _numbered(
            "name", "Twitter", "YouTube", "Twitch", "Facebook", "Instagram", "TikTok", "Discord"
        ),
        "platform_families": [
            {"id": i, "name": name, "slug": name.lower()} for i, name in PLATFORM_FAMILIES.items()
        ],
        "regions": [
            {"id": i, "name": name, "category": category, "identifier": identifier}
            for i, (name, category, identifier) in REGIONS.items()
        ],
        "release_date_regions": _rows("region", RELEASE_DATE_REGIONS),
        "release_date_statuses": [
            {"id": i, "name": name, "description": text}
            for i, (name, text) in RELEASE_DATE_STATUSES.items()
        ],
        "website_types": _rows("type", WEBSITE_TYPES),
        **_collection_rows(),
    }
    return tables
