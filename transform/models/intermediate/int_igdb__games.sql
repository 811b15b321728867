-- Games with IGDB's deprecated fields folded into their replacements: a record
-- from before IGDB's 2025 migration may carry only the old `status` code (the
-- same values as game_statuses' ids).

with

games as (

    select * from {{ ref('stg_igdb__games') }}

)

select * replace (coalesce(game_status_id, status) as game_status_id)
from games
