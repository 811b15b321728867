with

source as (

    select * from {{ source('igdb', 'covers') }}

),

renamed as (

    select
        id as cover_id,
        game as game_id,
        image_id,
        url,
        width,
        height,
        coalesce(alpha_channel, false) as has_alpha_channel,
        coalesce(animated, false) as is_animated,
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

    {{ igdb_latest_per_key('renamed', 'cover_id') }}

)

select
    cover_id,
    game_id,
    image_id,
    url,
    width,
    height,
    has_alpha_channel,
    is_animated,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
