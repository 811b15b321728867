with

source as (

    select * from {{ source('igdb', 'popularity_primitives') }}

),

renamed as (

    select
        id as popularity_primitive_id,
        game_id,
        popularity_type as popularity_type_id,
        value as popularity_value,
        {{ unix_seconds_to_utc('calculated_at') }} as calculated_at,
        external_popularity_source as external_popularity_source_id,
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

    {{ igdb_latest_per_key('renamed', 'popularity_primitive_id') }}

)

select
    popularity_primitive_id,
    game_id,
    popularity_type_id,
    popularity_value,
    calculated_at,
    external_popularity_source_id,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
