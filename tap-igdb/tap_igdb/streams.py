"""IGDB v4 streams: declarations only (requests in transport.py, paging in plan.py).

Replication choice per endpoint:
- INCREMENTAL on `updated_at` (unix seconds): the large entities that carry it.
- FULL_TABLE snapshot every run: endpoints IGDB gives no `updated_at` (covers,
  artworks, screenshots, websites, ...), which cannot be read incrementally, and the
  small lookup tables (`*_types`, `*_statuses`, ...: tens to hundreds of rows, one
  page each), which cost one block of the opening multiquery.
Every one of IGDB's 74 entity endpoints is a stream (docs/decisions/0009).
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


# --- INCREMENTAL --------------------------------------------------------------------


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


class CharactersStream(IncrementalStream):
    """Video game characters."""

    name = "characters"


class CollectionMembershipsStream(IncrementalStream):
    """Which games belong to which collection, and how."""

    name = "collection_memberships"


class CollectionRelationsStream(IncrementalStream):
    """Parent-child relations between collections."""

    name = "collection_relations"


class CompanyTypeHistoriesStream(IncrementalStream):
    """The kinds a company has had over time."""

    name = "company_type_histories"


class EventLogosStream(IncrementalStream):
    """Logos of events."""

    name = "event_logos"


class EventNetworksStream(IncrementalStream):
    """Where events were streamed."""

    name = "event_networks"


class EventsStream(IncrementalStream):
    """Gaming events (showcases, conferences, ...)."""

    name = "events"


class GameEnginesStream(IncrementalStream):
    """Game engines."""

    name = "game_engines"


class GameLocalizationsStream(IncrementalStream):
    """Regional titles and covers of games."""

    name = "game_localizations"


class GameTimeToBeatsStream(IncrementalStream):
    """Average time to beat a game (hastily, normally, completely), in seconds."""

    name = "game_time_to_beats"


class GameVersionsStream(IncrementalStream):
    """Editions of games (the versions of one game and their features)."""

    name = "game_versions"


class LanguageSupportsStream(IncrementalStream):
    """Which language a game supports, and how (audio, subtitles, interface)."""

    name = "language_supports"


class PlatformVersionReleaseDatesStream(IncrementalStream):
    """Release dates of platform versions per region."""

    name = "platform_version_release_dates"


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


class AgeRatingContentDescriptionsStream(SnapshotStream):
    """Age rating content descriptors: the pre-2025 table (age_ratings now reference
    age_rating_content_descriptions_v2)."""

    name = "age_rating_content_descriptions"


class AlternativeNamesStream(SnapshotStream):
    """Alternative and international names of games."""

    name = "alternative_names"


class ArtworksStream(SnapshotStream):
    """Official artworks of games (image ids for images.igdb.com)."""

    name = "artworks"


class CharacterMugShotsStream(SnapshotStream):
    """Portrait images of characters."""

    name = "character_mug_shots"


class CompanyLogosStream(SnapshotStream):
    """Logos of companies."""

    name = "company_logos"


class CompanyWebsitesStream(SnapshotStream):
    """Websites of companies."""

    name = "company_websites"


class GameEngineLogosStream(SnapshotStream):
    """Logos of game engines."""

    name = "game_engine_logos"


class GameVersionFeatureValuesStream(SnapshotStream):
    """The value of an edition feature for one game."""

    name = "game_version_feature_values"


class GameVersionFeaturesStream(SnapshotStream):
    """Features that differ between editions of a game."""

    name = "game_version_features"


class GameVideosStream(SnapshotStream):
    """Videos of games (YouTube ids)."""

    name = "game_videos"


class MultiplayerModesStream(SnapshotStream):
    """Multiplayer capabilities of a game on a platform."""

    name = "multiplayer_modes"


class PlatformLogosStream(SnapshotStream):
    """Logos of platforms."""

    name = "platform_logos"


class PlatformVersionCompaniesStream(SnapshotStream):
    """Companies that made a platform version."""

    name = "platform_version_companies"


class PlatformVersionsStream(SnapshotStream):
    """Versions (models) of platforms, with their hardware."""

    name = "platform_versions"


class PlatformWebsitesStream(SnapshotStream):
    """Websites of platforms."""

    name = "platform_websites"


class ScreenshotsStream(SnapshotStream):
    """Screenshots of games."""

    name = "screenshots"


# --- FULL_TABLE: small lookups ------------------------------------------------------


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


class AgeRatingCategoriesStream(LookupStream):
    """Age rating categories: the ratings each organization gives (PEGI 18, ESRB M,
    GRAC 15, ...), the values of age_ratings.rating_category."""

    name = "age_rating_categories"


class AgeRatingContentDescriptionTypesStream(LookupStream):
    """Kinds of age rating content description (violence, language, ...)."""

    name = "age_rating_content_description_types"


class AgeRatingContentDescriptionsV2Stream(LookupStream):
    """Age rating content descriptors per organization (the 2025 table age_ratings reference)."""

    name = "age_rating_content_descriptions_v2"


class AgeRatingOrganizationsStream(LookupStream):
    """Age rating organizations (ESRB, PEGI, CERO, USK, GRAC, CLASS_IND, ACB)."""

    name = "age_rating_organizations"


class ArtworkTypesStream(LookupStream):
    """Kinds of artwork (key art, concept art, ...)."""

    name = "artwork_types"


class CharacterGendersStream(LookupStream):
    """Genders of characters."""

    name = "character_genders"


class CharacterSpeciesStream(LookupStream):
    """Species of characters."""

    name = "character_species"


class CollectionMembershipTypesStream(LookupStream):
    """Kinds of collection membership."""

    name = "collection_membership_types"


class CollectionRelationTypesStream(LookupStream):
    """Kinds of relation between collections."""

    name = "collection_relation_types"


class CollectionTypesStream(LookupStream):
    """Kinds of collection (series, ...)."""

    name = "collection_types"


class CompanySizesStream(LookupStream):
    """Company size classes."""

    name = "company_sizes"


class CompanyStatusesStream(LookupStream):
    """Company statuses (active, defunct, merged, ...), the values of companies.status."""

    name = "company_statuses"


class CompanyTypesStream(LookupStream):
    """Kinds of company."""

    name = "company_types"


class DateFormatsStream(LookupStream):
    """Precision of a date (YYYY-MM-DD, YYYY-MM, YYYY, quarter, TBD): date_format values."""

    name = "date_formats"


class ExternalGameSourcesStream(LookupStream):
    """External services (Steam, GOG, Epic, ...): external_game_source values."""

    name = "external_game_sources"


class GameReleaseFormatsStream(LookupStream):
    """Release media (physical, digital), the values of external_games.game_release_format."""

    name = "game_release_formats"


class LanguageSupportTypesStream(LookupStream):
    """Kinds of language support (audio, subtitles, interface)."""

    name = "language_support_types"


class LanguagesStream(LookupStream):
    """Languages (with locale and native name)."""

    name = "languages"


class NetworkTypesStream(LookupStream):
    """Kinds of event network (Twitch, YouTube, ...)."""

    name = "network_types"


class PlatformFamiliesStream(LookupStream):
    """Platform families (PlayStation, Xbox, Nintendo, ...)."""

    name = "platform_families"


class RegionsStream(LookupStream):
    """Regions and locales of game localizations."""

    name = "regions"


class ReleaseDateRegionsStream(LookupStream):
    """Release regions (Europe, North America, Korea, ...): release_region values."""

    name = "release_date_regions"


class ReleaseDateStatusesStream(LookupStream):
    """Release statuses (alpha, beta, early access, full release, ...)."""

    name = "release_date_statuses"


class WebsiteTypesStream(LookupStream):
    """Kinds of website (official, Steam, Wikipedia, ...), the values of websites.type."""

    name = "website_types"


# Every stream the tap offers (the SDK syncs them in catalog order): the lookups first,
# since they share the opening multiquery.
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
    AgeRatingCategoriesStream,
    AgeRatingContentDescriptionTypesStream,
    AgeRatingContentDescriptionsV2Stream,
    AgeRatingOrganizationsStream,
    ArtworkTypesStream,
    CharacterGendersStream,
    CharacterSpeciesStream,
    CollectionMembershipTypesStream,
    CollectionRelationTypesStream,
    CollectionTypesStream,
    CompanySizesStream,
    CompanyStatusesStream,
    CompanyTypesStream,
    DateFormatsStream,
    ExternalGameSourcesStream,
    GameReleaseFormatsStream,
    LanguageSupportTypesStream,
    LanguagesStream,
    NetworkTypesStream,
    PlatformFamiliesStream,
    RegionsStream,
    ReleaseDateRegionsStream,
    ReleaseDateStatusesStream,
    WebsiteTypesStream,
    GamesStream,
    InvolvedCompaniesStream,
    CompaniesStream,
    ReleaseDatesStream,
    KeywordsStream,
    FranchisesStream,
    CollectionsStream,
    ExternalGamesStream,
    PopularityPrimitivesStream,
    CharactersStream,
    CollectionMembershipsStream,
    CollectionRelationsStream,
    CompanyTypeHistoriesStream,
    EventLogosStream,
    EventNetworksStream,
    EventsStream,
    GameEnginesStream,
    GameLocalizationsStream,
    GameTimeToBeatsStream,
    GameVersionsStream,
    LanguageSupportsStream,
    PlatformVersionReleaseDatesStream,
    CoversStream,
    AgeRatingsStream,
    WebsitesStream,
    AgeRatingContentDescriptionsStream,
    AlternativeNamesStream,
    ArtworksStream,
    CharacterMugShotsStream,
    CompanyLogosStream,
    CompanyWebsitesStream,
    GameEngineLogosStream,
    GameVersionFeatureValuesStream,
    GameVersionFeaturesStream,
    GameVideosStream,
    MultiplayerModesStream,
    PlatformLogosStream,
    PlatformVersionCompaniesStream,
    PlatformVersionsStream,
    PlatformWebsitesStream,
    ScreenshotsStream,
)
