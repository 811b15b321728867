{#- The raw layer as views in schema igdb_raw, one per source table. Called by
    on-run-start, so every command sees the manifests as they are now. -#}

{% macro igdb_register_raw_views() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set schema = adapter.quote(igdb_raw_schema()) -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- for stream in igdb_streams() -%}
        {%- set manifest = igdb_read_manifest(stream.name) -%}
        {%- if manifest is none and stream.meta.get('required') -%}
            {{ exceptions.raise_compiler_error(
                "raw stream '" ~ stream.name ~ "' has no manifest under " ~ igdb_lake_root() ~ "/" ~ igdb_lake_prefix()
                ~ " (looked for " ~ (igdb_manifest_locations(stream.name) | map(attribute='path') | join(' and '))
                ~ "): extract it first, e.g. meltano run tap-igdb target-s3") }}
        {%- endif -%}
        {%- if manifest is none -%}
            {{ log("igdb: optional stream " ~ stream.name ~ " was not extracted; its staging model is empty", info=True) }}
            {%- set files = [] -%}
        {%- else -%}
            {%- set files = manifest.files -%}
        {%- endif -%}
        {%- do run_query(
            'create or replace view ' ~ schema ~ '.' ~ adapter.quote(stream.name)
            ~ ' as ' ~ igdb_read_files(stream.name, files)) -%}
        {%- if stream.meta.get('stateful') -%}
            {%- do igdb_register_state_views(stream.name, manifest) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{% macro igdb_raw_schema() %}
    {{ return('igdb_raw') }}
{% endmacro %}


{% macro igdb_streams() %}
    {#- The raw streams: the igdb source tables that declare their columns. -#}
    {%- set streams = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'igdb' and node.columns -%}
            {%- do streams.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(streams | sort(attribute='name')) }}
{% endmacro %}


{% macro igdb_stream_columns(stream) %}
    {#- {column: type} of the JSON fields of a stream, from _igdb__sources.yml. -#}
    {%- for node in igdb_streams() if node.name == stream -%}
        {%- set columns = {} -%}
        {%- for column in node.columns.values() if not column.name.startswith('_igdb_') -%}
            {%- do columns.update({column.name: column.data_type}) -%}
        {%- endfor -%}
        {{ return(columns) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no igdb source table declares the columns of stream " ~ stream) }}
{% endmacro %}


{% macro igdb_read_files(stream, files, first_position=1) %}
    {#- Select the stream's records from exactly these manifest files (in load
        order), typed by the source's columns, with each file's load metadata.
        The files are the manifest's from position `first_position` on, so a
        record's _igdb_file_position is its file's place in the whole manifest.
        One scan over all files (numbering the rows pins it to one thread;
        a scan per file would run in parallel but buffer every file at once). -#}
    {%- set columns = igdb_stream_columns(stream) -%}
    {%- if files | length == 0 -%}
        {{ return(igdb_empty_records(columns)) }}
    {%- endif -%}
    {%- set sql -%}
        with manifest_files (_igdb_file_position, _igdb_file_key, _igdb_file_path, _igdb_loaded_at) as (
            values
            {%- for file in files %}
                ({{ first_position + loop.index0 }}, '{{ file.key }}', '{{ file.path }}', make_timestamptz({{ file.loaded_at_ms }}::bigint * 1000)){{ ',' if not loop.last }}
            {%- endfor %}
        ),
        records as (
            select *, row_number() over () as _igdb_row
            from read_json(
                [{%- for file in files %}'{{ file.path }}'{{ ', ' if not loop.last }}{% endfor -%}],
                format = 'newline_delimited',
                filename = '_igdb_file_path',
                columns = {
                    {%- for name, type in columns.items() %}
                    '{{ name }}': '{{ type }}'{{ ',' if not loop.last }}
                    {%- endfor %}
                }
            )
        )
        select
            {%- for name in columns %}
            records.{{ adapter.quote(name) }},
            {%- endfor %}
            manifest_files._igdb_loaded_at,
            manifest_files._igdb_file_key,
            manifest_files._igdb_file_position::bigint as _igdb_file_position,
            records._igdb_row
        from records
        inner join manifest_files on records._igdb_file_path = manifest_files._igdb_file_path
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}


{% macro igdb_empty_records(columns) %}
    {%- set sql -%}
        select
            {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ adapter.quote(name) }},
            {%- endfor %}
            cast(null as timestamptz) as _igdb_loaded_at,
            cast(null as varchar) as _igdb_file_key,
            cast(null as bigint) as _igdb_file_position,
            cast(null as bigint) as _igdb_row
        where false
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}
