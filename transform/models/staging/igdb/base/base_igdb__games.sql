{{
    config(
        materialized='parquet_file',
        location=igdb_state_path('games'),
        parquet_metadata={'igdb_state_format': igdb_state_format()},
    )
}}

-- The latest record per game id, built incrementally and statelessly: the
-- state the previous build left next to the mart, merged with only the raw
-- files loaded since (docs/decisions/0003-stateless-incremental-mart.md).
-- Written over that state as the next build's (parquet_file materialization).
--
-- Only ids in the increment can change, so only they are ranked, and on
-- their ordering columns alone: the state's other rows pass through as they
-- are. Memory and time follow the increment, not the number of games.
-- The inputs are read where they are used, never buffered: the state is a
-- Parquet scan (a CTE marked not materialized), and the increment is named
-- by its source each time, because DuckDB materializes a CTE read twice that
-- holds a window function (the raw view numbers its rows), which in a full
-- build would buffer every record.
-- depends_on: {{ source('igdb', 'games') }}

with

previous_state as not materialized (

    select * from {{ source('igdb', 'games_previous_state') }}

),

-- Every record that competes for an id of the increment, by its ordering columns.
contenders as (

    select
        id,
        updated_at,
        _igdb_file_position,
        _sdc_extracted_at,
        _igdb_row,
        true as is_new
    from {{ source('igdb', 'games_increment') }}

    union all

    select
        id,
        updated_at,
        _igdb_file_position,
        _sdc_extracted_at,
        _igdb_row,
        false as is_new
    from previous_state
    where id in (select new_records.id from {{ source('igdb', 'games_increment') }} as new_records)

),

-- Ids whose latest record is a new one, and which one (_igdb_row numbers the
-- increment's records).
new_latest as (

    select
        id,
        _igdb_row
    from contenders
    qualify
        row_number() over (partition by id order by {{ igdb_load_order_desc() }}) = 1
        and is_new

),

merged as (

    select * from previous_state
    -- (a null in a not-in list would keep no row at all)
    where
        id not in (
            select new_latest.id from new_latest
            where new_latest.id is not null
        )

    union all by name

    select * from {{ source('igdb', 'games_increment') }}
    where _igdb_row in (select new_latest._igdb_row from new_latest)

),

-- What this state has consumed: the largest manifest prefix among its inputs.
-- Each input carries one build record on every row, so one row of each will do.
build_records as (

    (
        select
            _igdb_state_table_version,
            _igdb_state_file_count,
            _igdb_state_last_key
        from previous_state
        limit 1  -- noqa: AM09
    )

    union all

    (
        select
            _igdb_state_table_version,
            _igdb_state_file_count,
            _igdb_state_last_key
        from {{ source('igdb', 'games_increment') }}
        limit 1  -- noqa: AM09
    )

),

build_record as (

    select
        arg_max(_igdb_state_table_version, _igdb_state_file_count) as table_version,
        max(_igdb_state_file_count) as file_count,
        arg_max(_igdb_state_last_key, _igdb_state_file_count) as last_key
    from build_records

)

select
    merged.* exclude (_igdb_state_table_version, _igdb_state_file_count, _igdb_state_last_key),
    build_record.table_version as _igdb_state_table_version,
    build_record.file_count as _igdb_state_file_count,
    build_record.last_key as _igdb_state_last_key
from merged
cross join build_record
