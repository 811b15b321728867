with

source as (

    select * from {{ source('igdb', 'game_statuses') }}

),

renamed as (

    select
        id as game_status_id,
        status as game_status_name,
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

    {{ igdb_latest_per_key('renamed', 'game_status_id') }}

)

select
    game_status_id,
    game_status_name,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
