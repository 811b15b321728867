with

source as (

    select * from {{ source('igdb', 'platform_types') }}

),

renamed as (

    select
        id as platform_type_id,
        name as platform_type_name,
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

    {{ igdb_latest_per_key('renamed', 'platform_type_id') }}

)

select
    platform_type_id,
    platform_type_name,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
