with

source as (

    -- Already the latest record per id, merged incrementally.
    select * from {{ ref('base_igdb__games') }}

),

renamed as (

    select
        id as game_id,
        name,
        slug,
        summary,
        storyline,
        url,
        {{ unix_seconds_to_utc('first_release_date') }} as first_released_at,
        {{ unix_seconds_to_utc('created_at') }} as created_at,
        {{ unix_seconds_to_utc('updated_at') }} as updated_at,
        -- category and status are deprecated; older records may carry only them.
        coalesce(game_type, category) as game_type_id,
        coalesce(game_status, status) as game_status_id,
        parent_game as parent_game_id,
        version_parent as version_parent_game_id,
        version_title,
        cover as cover_id,
        franchise as franchise_id,
        rating,
        rating_count,
        aggregated_rating,
        aggregated_rating_count,
        total_rating,
        total_rating_count,
        hypes,
        coalesce(platforms, []) as platform_ids,
        coalesce(genres, []) as genre_ids,
        coalesce(game_modes, []) as game_mode_ids,
        coalesce(themes, []) as theme_ids,
        coalesce(player_perspectives, []) as player_perspective_ids,
        coalesce(involved_companies, []) as involved_company_ids,
        coalesce(keywords, []) as keyword_ids,
        coalesce(franchises, []) as franchise_ids,
        coalesce(collections, []) as collection_ids,
        coalesce(age_ratings, []) as age_rating_ids,
        coalesce(websites, []) as website_ids,
        coalesce(external_games, []) as external_game_ids,
        coalesce(release_dates, []) as release_date_ids,
        checksum,
        _sdc_extracted_at as extracted_at,
        _igdb_loaded_at as loaded_at

    from source

)

select * from renamed
