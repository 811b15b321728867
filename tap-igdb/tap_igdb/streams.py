"""IGDB v4 streams: declarations only (requests in transport.py, paging in plan.py).

Replication choice per endpoint:
- INCREMENTAL on `updated_at` (unix seconds): the large entities that carry it.
- FULL_TABLE snapshot every run: small lookup tables, and endpoints IGDB gives no
  `updated_at` (covers, age_ratings, websites), which cannot be read incrementally.
"""

from __future__ import annotations

from tap_igdb.client import IGDBStream


class IncrementalStream(IGDBStream):
    """A large entity read incrementally: `where updated_at >= bookmark - lookback`."""

    replication_key = "updated_at"


class SnapshotStream(IGDBStream):
    """Read in full on every run (FULL_TABLE), announced as a new table version."""


class LookupStream(SnapshotStream):
    """A small lookup table (tens to hundreds of rows): one page, asked for together
    with the other lookups' in one opening multiquery."""

    fits_one_page = True


# --- INCREMENTAL ----------------------------------------------------------------------


class GamesStream(IncrementalStream):
    """Games (~375k), the centre of the model."""

    name = "games"


class InvolvedCompaniesStream(IncrementalStream):
    """Game-company links (developer, publisher, porting, supporting)."""

    name = "involved_companies"


class CompaniesStream(IncrementalStream):
    """Developers and publishers."""

    name = "companies"


class ReleaseDatesStream(IncrementalStream):
    """Release dates per game, platform and region."""

    name = "release_dates"


class KeywordsStream(IncrementalStream):
    """Keywords tagged on games (hundreds of thousands)."""

    name = "keywords"


class FranchisesStream(IncrementalStream):
    """Franchises."""

    name = "franchises"


class CollectionsStream(IncrementalStream):
    """Collections (series) of games."""

    name = "collections"


class ExternalGamesStream(IncrementalStream):
    """Ids of games on other services (Steam, GOG, ...)."""

    name = "external_games"


class PopularityPrimitivesStream(IncrementalStream):
    """Popularity measurements per game (`calculated_at`, `updated_at`)."""

    name = "popularity_primitives"


# --- FULL_TABLE: no updated_at ------------------------------------------------------


class CoversStream(SnapshotStream):
    """Cover images (IGDB gives covers no `updated_at`)."""

    name = "covers"


class AgeRatingsStream(SnapshotStream):
    """Age ratings (no `updated_at`)."""

    name = "age_ratings"


class WebsitesStream(SnapshotStream):
    """Game websites (no `updated_at`)."""

    name = "websites"


# --- FULL_TABLE: small lookups --------------------------------------------------------


class PlatformsStream(LookupStream):
    """Platforms (~220)."""

    name = "platforms"


class GenresStream(LookupStream):
    """Genres (~23)."""

    name = "genres"


class GameModesStream(LookupStream):
    """Game modes (~6)."""

    name = "game_modes"


class ThemesStream(LookupStream):
    """Themes (~22)."""

    name = "themes"


class PlayerPerspectivesStream(LookupStream):
    """Player perspectives (~7)."""

    name = "player_perspectives"


class GameTypesStream(LookupStream):
    """Game types (main game, DLC, bundle, ...)."""

    name = "game_types"


class GameStatusesStream(LookupStream):
    """Game statuses (released, alpha, cancelled, ...)."""

    name = "game_statuses"


class PlatformTypesStream(LookupStream):
    """Platform types (console, arcade, ...)."""

    name = "platform_types"


class PopularityTypesStream(LookupStream):
    """Popularity measures (visits, want to play, ...)."""

    name = "popularity_types"


# Every stream the tap offers (the SDK syncs them in catalog order).
STREAM_TYPES: tuple[type[IGDBStream], ...] = (
    PlatformsStream,
    GenresStream,
    GameModesStream,
    ThemesStream,
    PlayerPerspectivesStream,
    GameTypesStream,
    GameStatusesStream,
    PlatformTypesStream,
    PopularityTypesStream,
    GamesStream,
    InvolvedCompaniesStream,
    CompaniesStream,
    ReleaseDatesStream,
    KeywordsStream,
    FranchisesStream,
    CollectionsStream,
    ExternalGamesStream,
    PopularityPrimitivesStream,
    CoversStream,
    AgeRatingsStream,
    WebsitesStream,
)
