with

source as (

    select * from {{ source('igdb', 'platforms') }}

),

renamed as (

    select
        id as platform_id,
        name as platform_name,
        abbreviation,
        alternative_name,
        slug,
        url,
        summary,
        generation,
        platform_family as platform_family_id,
        platform_logo as platform_logo_id,
        coalesce(platform_type, category) as platform_type_id,
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

    {{ igdb_latest_per_key('renamed', 'platform_id') }}

)

select
    platform_id,
    platform_name,
    abbreviation,
    alternative_name,
    slug,
    url,
    summary,
    generation,
    platform_family_id,
    platform_logo_id,
    platform_type_id,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
