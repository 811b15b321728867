{#- Stateless incremental builds (docs/decisions/0003-stateless-incremental-mart.md).
    A stateful stream keeps its latest record per id next to the mart, at
    {mart root}/_state/{stream}.parquet, with a build record in three columns:
    the manifest table_version, how many manifest files it has consumed, and
    the key of the last one. Each run merges only the files after those. -#}

{% macro igdb_state_path(stream) %}
    {#- Under the mart root. -#}
    {{ return('_state/' ~ stream ~ '.parquet') }}
{% endmacro %}


{% macro igdb_state_location(stream) %}
    {{ return(igdb_mart_location(igdb_state_path(stream))) }}
{% endmacro %}


{% macro igdb_state_format() %}
    {#- Bump when the state's file layout changes: a state in another format is
        rebuilt, not merged. 2: row groups of igdb_parquet_row_group_size rows
        (1, unmarked, had DuckDB's 122,880-row groups, too large to merge
        within the memory limit). -#}
    {{ return('2') }}
{% endmacro %}


{% macro igdb_state_build_columns() %}
    {{ return(['_igdb_state_table_version', '_igdb_state_file_count', '_igdb_state_last_key']) }}
{% endmacro %}


{% macro igdb_register_state_views(stream, manifest) %}
    {%- set files = manifest.files if manifest is not none else [] -%}
    {%- set plan = igdb_state_plan(stream, manifest) -%}
    {{ log("igdb: " ~ stream ~ " state: " ~ plan.action ~ " (" ~ plan.reason ~ "), "
        ~ (plan.new_files | length) ~ " of " ~ (files | length) ~ " manifest files to read", info=True) }}
    {%- set schema = adapter.quote(igdb_raw_schema()) -%}

    {%- if plan.action == 'merge' -%}
        {%- set previous_sql = "select * from read_parquet('" ~ igdb_state_location(stream) ~ "')" -%}
    {%- else -%}
        {%- set previous_sql -%}
            select
                empty_records.*,
                cast(null as bigint) as _igdb_state_table_version,
                cast(null as bigint) as _igdb_state_file_count,
                cast(null as varchar) as _igdb_state_last_key
            from ({{ igdb_empty_records(igdb_stream_columns(stream)) }}) as empty_records
        {%- endset -%}
    {%- endif -%}
    {%- do run_query('create or replace view ' ~ schema ~ '.' ~ adapter.quote(stream ~ '_previous_state')
        ~ ' as ' ~ previous_sql) -%}

    {#- The increment carries the build record of the manifest snapshot it was
        planned from, so the state written from it can never claim more. -#}
    {%- set increment_sql -%}
        select
            new_records.*,
            {{ manifest.table_version if manifest is not none else 'null' }}::bigint as _igdb_state_table_version,
            {{ files | length }}::bigint as _igdb_state_file_count,
            {{ "'" ~ files[-1].key ~ "'" if files else 'null' }}::varchar as _igdb_state_last_key
        from ({{ igdb_read_files(stream, plan.new_files, first_position=plan.first_position) }}) as new_records
    {%- endset -%}
    {%- do run_query('create or replace view ' ~ schema ~ '.' ~ adapter.quote(stream ~ '_increment')
        ~ ' as ' ~ increment_sql) -%}
{% endmacro %}


{% macro igdb_state_plan(stream, manifest) %}
    {#- {action: merge|rebuild, reason, new_files, first_position}: merge when
        the previous state was built from a prefix of this very manifest
        version; new_files are the manifest's from position first_position on. -#}
    {%- set files = manifest.files if manifest is not none else [] -%}
    {%- set rebuild = {'action': 'rebuild', 'new_files': files, 'first_position': 1} -%}
    {%- set location = igdb_state_location(stream) -%}

    {%- if flags.FULL_REFRESH -%}
        {{ return(dict(rebuild, reason='full refresh requested')) }}
    {%- endif -%}
    {%- if manifest is none -%}
        {{ return(dict(rebuild, reason='stream not extracted')) }}
    {%- endif -%}
    {%- if not igdb_path_exists(location) -%}
        {{ return(dict(rebuild, reason='no previous state at ' ~ location)) }}
    {%- endif -%}

    {%- set expected_columns = (igdb_stream_columns(stream).keys() | list)
        + ['_igdb_loaded_at', '_igdb_file_key', '_igdb_file_position', '_igdb_row']
        + igdb_state_build_columns() -%}
    {%- set state_columns = run_query(
        "select column_name from (describe select * from read_parquet('" ~ location ~ "'))"
    ).columns[0].values() | list -%}
    {%- if (state_columns | sort) != (expected_columns | sort) -%}
        {{ return(dict(rebuild, reason='state columns differ from the source columns')) }}
    {%- endif -%}

    {%- set format = run_query(
        "select max(value::varchar) from parquet_kv_metadata('" ~ location ~ "')"
        ~ " where key::varchar = 'igdb_state_format'"
    ).columns[0].values()[0] -%}
    {%- if format != igdb_state_format() -%}
        {{ return(dict(rebuild, reason='the state was written in format ' ~ (format or 1)
            ~ ', this build writes format ' ~ igdb_state_format())) }}
    {%- endif -%}

    {%- set build = run_query(
        "select count(*) as records, max(_igdb_state_table_version)::varchar as table_version,"
        ~ " max(_igdb_state_file_count)::varchar as file_count, max(_igdb_state_last_key) as last_key"
        ~ " from read_parquet('" ~ location ~ "')"
    ).rows[0] -%}
    {%- set consumed = (build['file_count'] | string | int) if build['file_count'] is not none else 0 -%}
    {%- if build['records'] | int == 0 -%}
        {{ return(dict(rebuild, reason='previous state is empty')) }}
    {%- elif build['table_version'] | string != manifest.table_version -%}
        {{ return(dict(rebuild, reason='table_version changed from ' ~ build['table_version'] ~ ' to ' ~ manifest.table_version)) }}
    {%- elif consumed == 0 or consumed > files | length or files[consumed - 1].key != build['last_key'] -%}
        {{ return(dict(rebuild, reason='the manifest no longer starts with the files the state consumed')) }}
    {%- endif -%}
    {{ return({
        'action': 'merge',
        'reason': 'state consumed ' ~ consumed ~ ' files',
        'new_files': files[consumed:],
        'first_position': consumed + 1,
    }) }}
{% endmacro %}
