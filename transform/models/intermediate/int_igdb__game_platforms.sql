with

games as (

    select
        game_id,
        platform_ids
    from {{ ref('stg_igdb__games') }}

),

unnested as (

    select distinct
        game_id,
        unnest(platform_ids) as platform_id
    from games

)

select
    game_id,
    platform_id
from unnested
