with

source as (

    select * from {{ source('igdb', 'release_dates') }}

),

renamed as (

    select
        id as release_date_id,
        game as game_id,
        platform as platform_id,
        {{ unix_seconds_to_utc('date') }} as released_at,
        human as human_date,
        y as release_year,
        m as release_month,
        coalesce(date_format, category) as date_format_id,
        coalesce(release_region, region) as release_region_id,
        status as release_status_id,
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

    {{ igdb_latest_per_key('renamed', 'release_date_id') }}

)

select
    release_date_id,
    game_id,
    platform_id,
    released_at,
    human_date,
    release_year,
    release_month,
    date_format_id,
    release_region_id,
    release_status_id,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
