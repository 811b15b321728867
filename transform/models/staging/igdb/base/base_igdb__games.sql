{{
    config(
        materialized='table',
        post_hook="{{ igdb_export_parquet('_state/games.parquet') }}",
    )
}}

-- The latest record per game id, built incrementally and statelessly: the
-- state the previous build left next to the mart, merged with only the raw
-- files loaded since (docs/decisions/0003-stateless-incremental-mart.md).
-- Written back as the next build's state by the post-hook.
-- depends_on: {{ source('igdb', 'games') }}

with

previous_state as (

    select * from {{ source('igdb', 'games_previous_state') }}

),

increment as (

    select * from {{ source('igdb', 'games_increment') }}

),

candidates as (

    select * from previous_state
    union all by name
    select * from increment

),

-- What this state has consumed: the largest manifest prefix among its inputs.
build_record as (

    select
        arg_max(_igdb_state_table_version, _igdb_state_file_count) as table_version,
        max(_igdb_state_file_count) as file_count,
        arg_max(_igdb_state_last_key, _igdb_state_file_count) as last_key
    from candidates

),

latest as (

    {{ igdb_latest_per_key('candidates', 'id') }}

)

select
    latest.* exclude (_igdb_state_table_version, _igdb_state_file_count, _igdb_state_last_key),
    build_record.table_version as _igdb_state_table_version,
    build_record.file_count as _igdb_state_file_count,
    build_record.last_key as _igdb_state_last_key
from latest
cross join build_record
