with

games as (

    select
        game_id,
        player_perspective_ids
    from {{ ref('stg_igdb__games') }}

),

unnested as (

    select distinct
        game_id,
        unnest(player_perspective_ids) as player_perspective_id
    from games

)

select
    game_id,
    player_perspective_id
from unnested
