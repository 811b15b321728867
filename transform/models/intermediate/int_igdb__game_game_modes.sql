with

games as (

    select
        game_id,
        game_mode_ids
    from {{ ref('stg_igdb__games') }}

),

unnested as (

    select distinct
        game_id,
        unnest(game_mode_ids) as game_mode_id
    from games

)

select
    game_id,
    game_mode_id
from unnested
