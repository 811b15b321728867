with

source as (

    select * from {{ source('igdb', 'age_ratings') }}

),

renamed as (

    select
        id as age_rating_id,
        coalesce(organization, category) as organization_id,
        coalesce(rating_category, rating) as rating_category_id,
        synopsis,
        rating_cover_url,
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

    {{ igdb_latest_per_key('renamed', 'age_rating_id') }}

)

select
    age_rating_id,
    organization_id,
    rating_category_id,
    synopsis,
    rating_cover_url,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
