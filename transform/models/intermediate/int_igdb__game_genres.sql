with

games as (

    select
        game_id,
        genre_ids
    from {{ ref('stg_igdb__games') }}

),

unnested as (

    select distinct
        game_id,
        unnest(genre_ids) as genre_id
    from games

)

select
    game_id,
    genre_id
from unnested
