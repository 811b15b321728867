{{
    config(
        materialized='parquet_file',
        location='dim_games/dim_games.parquet',
    )
}}

with

games as (

    select * from {{ ref('int_igdb__games') }}

),

-- The small lookups as one row of id -> name maps. Each game's own id lists
-- are looked up in them row by row: no aggregate or join that grows with the
-- number of games (a one-row cross join hands the maps over as constants).
lookup_names as (

    select
        (
            select map_from_entries(list((platform_id, platform_name)))
            from {{ ref('stg_igdb__platforms') }}
        ) as platform_names,
        (
            select map_from_entries(list((genre_id, genre_name)))
            from {{ ref('stg_igdb__genres') }}
        ) as genre_names,
        (
            select map_from_entries(list((game_mode_id, game_mode_name)))
            from {{ ref('stg_igdb__game_modes') }}
        ) as game_mode_names,
        (
            select map_from_entries(list((theme_id, theme_name)))
            from {{ ref('stg_igdb__themes') }}
        ) as theme_names,
        (
            select map_from_entries(list((player_perspective_id, player_perspective_name)))
            from {{ ref('stg_igdb__player_perspectives') }}
        ) as player_perspective_names

),

-- Companies come from involved_companies, not from the game's record. A window
-- per game rather than a group by: a list aggregate's state cannot spill, and
-- this one grows with the number of games; a window sorts, and sorts spill.
company_names as (

    select
        game_companies.game_id,
        list_sort(list_distinct(list(companies.company_name) filter (where game_companies.is_developer) over by_game))
            as developer_names,
        list_sort(list_distinct(list(companies.company_name) filter (where game_companies.is_publisher) over by_game))
            as publisher_names
    from {{ ref('int_igdb__game_companies') }} as game_companies
    inner join {{ ref('stg_igdb__companies') }} as companies
        on game_companies.company_id = companies.company_id
    where game_companies.is_developer or game_companies.is_publisher
    window by_game as (partition by game_companies.game_id)
    qualify row_number() over by_game = 1

),

covers as (

    select * from {{ ref('stg_igdb__covers') }}

),

game_types as (

    select * from {{ ref('stg_igdb__game_types') }}

),

game_statuses as (

    select * from {{ ref('stg_igdb__game_statuses') }}

),

final as (

    select
        games.game_id,
        games.game_name as name,
        games.slug,
        games.summary,
        games.url,
        games.cover_id,
        covers.image_id as cover_image_id,
        games.first_released_at,
        year(games.first_released_at) as release_year,
        games.created_at,
        games.updated_at,
        games.game_type_id,
        game_types.game_type_name as game_type,
        games.game_status_id,
        game_statuses.game_status_name as game_status,
        games.parent_game_id,
        games.version_parent_game_id,
        games.rating,
        games.rating_count,
        games.aggregated_rating,
        games.aggregated_rating_count,
        games.total_rating,
        games.total_rating_count,
        games.hypes,
        {{ igdb_names_of('games.platform_ids', 'lookup_names.platform_names') }} as platform_names,
        {{ igdb_names_of('games.genre_ids', 'lookup_names.genre_names') }} as genre_names,
        {{ igdb_names_of('games.game_mode_ids', 'lookup_names.game_mode_names') }} as game_mode_names,
        {{ igdb_names_of('games.theme_ids', 'lookup_names.theme_names') }} as theme_names,
        {{ igdb_names_of('games.player_perspective_ids', 'lookup_names.player_perspective_names') }}
            as player_perspective_names,
        coalesce(company_names.developer_names, []) as developer_names,
        coalesce(company_names.publisher_names, []) as publisher_names
    from games
    cross join lookup_names
    left join company_names on games.game_id = company_names.game_id
    left join covers on games.cover_id = covers.cover_id
    left join game_types on games.game_type_id = game_types.game_type_id
    left join game_statuses on games.game_status_id = game_statuses.game_status_id

)

select * from final
