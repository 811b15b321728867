with

source as (

    select * from {{ source('igdb', 'involved_companies') }}

),

renamed as (

    select
        id as involved_company_id,
        game as game_id,
        company as company_id,
        coalesce(developer, false) as is_developer,
        coalesce(publisher, false) as is_publisher,
        coalesce(porting, false) as is_porting,
        coalesce(supporting, false) as is_supporting,
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

    {{ igdb_latest_per_key('renamed', 'involved_company_id') }}

)

select
    involved_company_id,
    game_id,
    company_id,
    is_developer,
    is_publisher,
    is_porting,
    is_supporting,
    created_at,
    updated_at,
    checksum,
    extracted_at,
    loaded_at
from deduplicated
