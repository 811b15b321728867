with

source as (

    select * from {{ source('igdb', 'game_modes') }}

),

renamed as (

    select
        id as game_mode_id,
        name as game_mode_name,
        slug,
        url,
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

    {{ igdb_latest_per_key('renamed', 'game_mode_id') }}

)

select
    game_mode_id,
    game_mode_name,
    slug,
    url,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
