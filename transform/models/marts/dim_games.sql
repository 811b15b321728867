{{
    config(
        materialized='table',
        post_hook="{{ igdb_export_parquet('dim_games/dim_games.parquet') }}",
    )
}}

with

games as (

    select * from {{ ref('stg_igdb__games') }}

),

platform_names as (

    select
        game_platforms.game_id,
        list(platforms.platform_name order by platforms.platform_name) as platform_names
    from {{ ref('stg_igdb__game_platforms') }} as game_platforms
    inner join {{ ref('stg_igdb__platforms') }} as platforms
        on game_platforms.platform_id = platforms.platform_id
    group by game_platforms.game_id

),

genre_names as (

    select
        game_genres.game_id,
        list(genres.genre_name order by genres.genre_name) as genre_names
    from {{ ref('stg_igdb__game_genres') }} as game_genres
    inner join {{ ref('stg_igdb__genres') }} as genres
        on game_genres.genre_id = genres.genre_id
    group by game_genres.game_id

),

game_mode_names as (

    select
        game_game_modes.game_id,
        list(game_modes.game_mode_name order by game_modes.game_mode_name) as game_mode_names
    from {{ ref('stg_igdb__game_game_modes') }} as game_game_modes
    inner join {{ ref('stg_igdb__game_modes') }} as game_modes
        on game_game_modes.game_mode_id = game_modes.game_mode_id
    group by game_game_modes.game_id

),

theme_names as (

    select
        game_themes.game_id,
        list(themes.theme_name order by themes.theme_name) as theme_names
    from {{ ref('stg_igdb__game_themes') }} as game_themes
    inner join {{ ref('stg_igdb__themes') }} as themes
        on game_themes.theme_id = themes.theme_id
    group by game_themes.game_id

),

player_perspective_names as (

    select
        game_player_perspectives.game_id,
        list(
            player_perspectives.player_perspective_name
            order by player_perspectives.player_perspective_name
        ) as player_perspective_names
    from {{ ref('stg_igdb__game_player_perspectives') }} as game_player_perspectives
    inner join {{ ref('stg_igdb__player_perspectives') }} as player_perspectives
        on game_player_perspectives.player_perspective_id = player_perspectives.player_perspective_id
    group by game_player_perspectives.game_id

),

company_names as (

    select
        game_companies.game_id,
        list(distinct companies.company_name order by companies.company_name)
        filter (where game_companies.is_developer) as developer_names,
        list(distinct companies.company_name order by companies.company_name)
        filter (where game_companies.is_publisher) as publisher_names
    from {{ ref('stg_igdb__game_companies') }} as game_companies
    inner join {{ ref('stg_igdb__companies') }} as companies
        on game_companies.company_id = companies.company_id
    group by game_companies.game_id

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
        games.name,
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
        coalesce(platform_names.platform_names, []) as platform_names,
        coalesce(genre_names.genre_names, []) as genre_names,
        coalesce(game_mode_names.game_mode_names, []) as game_mode_names,
        coalesce(theme_names.theme_names, []) as theme_names,
        coalesce(player_perspective_names.player_perspective_names, []) as player_perspective_names,
        coalesce(company_names.developer_names, []) as developer_names,
        coalesce(company_names.publisher_names, []) as publisher_names
    from games
    left join platform_names on games.game_id = platform_names.game_id
    left join genre_names on games.game_id = genre_names.game_id
    left join game_mode_names on games.game_id = game_mode_names.game_id
    left join theme_names on games.game_id = theme_names.game_id
    left join player_perspective_names on games.game_id = player_perspective_names.game_id
    left join company_names on games.game_id = company_names.game_id
    left join covers on games.cover_id = covers.cover_id
    left join game_types on games.game_type_id = game_types.game_type_id
    left join game_statuses on games.game_status_id = game_statuses.game_status_id

)

select * from final
