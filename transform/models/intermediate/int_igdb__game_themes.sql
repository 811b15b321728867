with

games as (

    select
        game_id,
        theme_ids
    from {{ ref('stg_igdb__games') }}

),

unnested as (

    select distinct
        game_id,
        unnest(theme_ids) as theme_id
    from games

)

select
    game_id,
    theme_id
from unnested
