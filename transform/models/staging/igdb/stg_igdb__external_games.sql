with

source as (

    select * from {{ source('igdb', 'external_games') }}

),

renamed as (

    select
        id as external_game_id,
        game as game_id,
        uid,
        name as external_name,
        url,
        year as release_year,
        platform as platform_id,
        coalesce(external_game_source, category) as external_game_source_id,
        game_release_format as game_release_format_id,
        {{ unix_seconds_to_utc('created_at') }} as created_at,
        {{ unix_seconds_to_utc('updated_at') }} as updated_at,
        checksum,
        _sdc_extracted_at as extracted_at,
        _igdb_loaded_at as loaded_at,
        _sdc_extracted_at,
        _igdb_file_position,
        _igdb_row

    from source

),

deduplicated as (

    {{ igdb_latest_per_key('renamed', 'external_game_id') }}

)

select
    external_game_id,
    game_id,
    uid,
    external_name,
    url,
    release_year,
    platform_id,
    external_game_source_id,
    game_release_format_id,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
