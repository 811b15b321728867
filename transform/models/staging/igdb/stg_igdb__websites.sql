with

source as (

    select * from {{ source('igdb', 'websites') }}

),

renamed as (

    select
        id as website_id,
        game as game_id,
        url,
        coalesce(trusted, false) as is_trusted,
        coalesce(type, category) as website_type_id,
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

    {{ igdb_latest_per_key('renamed', 'website_id') }}

)

select
    website_id,
    game_id,
    url,
    is_trusted,
    website_type_id,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
