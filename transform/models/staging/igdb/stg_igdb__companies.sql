with

source as (

    select * from {{ source('igdb', 'companies') }}

),

renamed as (

    select
        id as company_id,
        name as company_name,
        slug,
        url,
        description,
        country as country_code,
        parent as parent_company_id,
        {{ unix_seconds_to_utc('start_date') }} as started_at,
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

    {{ igdb_latest_per_key('renamed', 'company_id') }}

)

select
    company_id,
    company_name,
    slug,
    url,
    description,
    country_code,
    parent_company_id,
    started_at,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
