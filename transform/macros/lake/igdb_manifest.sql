{% macro igdb_manifest_locations(stream) %}
    {%- set base = igdb_lake_root() ~ '/' ~ igdb_lake_prefix() -%}
    {{ return([
        {'layout': 'incremental', 'path': base ~ '/' ~ stream ~ '/_manifest.json'},
        {'layout': 'snapshot', 'path': base ~ '/dimensions/' ~ stream ~ '/_manifest.json'},
    ]) }}
{% endmacro %}


{% macro igdb_read_manifest(stream) %}
    {#- The stream's live manifest as {path, layout, table_version, updated_at,
        files: [{key, path, loaded_at_ms}]} in load order, or none when the
        stream was never extracted. If both layouts have a manifest (the
        stream changed replication method), the newer one is live. -#}
    {%- set manifests = [] -%}
    {%- for location in igdb_manifest_locations(stream) -%}
        {%- if igdb_path_exists(location.path) -%}
            {%- do manifests.append(igdb_load_manifest(stream, location)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if manifests | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(manifests | sort(attribute='updated_at') | last) }}
{% endmacro %}


{% macro igdb_load_manifest(stream, location) %}
    {%- set path = igdb_sql_string(location.path) -%}
    {%- set header_sql -%}
        with manifest as (select content::json as doc from read_text('{{ path }}'))
        select
            doc ->> 'manifest_version' as manifest_version,
            doc ->> 'stream' as stream,
            doc ->> 'layout' as layout,
            doc ->> 'table_version' as table_version,
            doc ->> 'updated_at' as updated_at,
            json_array_length(doc -> 'files') as file_count
        from manifest
    {%- endset -%}
    {%- set header = run_query(header_sql).rows[0] -%}
    {%- set problem = none -%}
    {%- if header['manifest_version'] | string != '1' -%}
        {%- set problem = "unsupported manifest_version " ~ header['manifest_version'] -%}
    {%- elif header['stream'] != stream -%}
        {%- set problem = "it describes stream " ~ header['stream'] -%}
    {%- elif header['layout'] != location.layout -%}
        {%- set problem = "layout is " ~ header['layout'] ~ ", expected " ~ location.layout -%}
    {%- elif not header['table_version'] or header['file_count'] is none -%}
        {%- set problem = "table_version or files missing" -%}
    {%- endif -%}
    {%- if problem -%}
        {{ exceptions.raise_compiler_error("invalid manifest " ~ location.path ~ ": " ~ problem) }}
    {%- endif -%}

    {%- set files_sql -%}
        with manifest as (select content::json as doc from read_text('{{ path }}')),
        files as (select unnest(json_extract(doc, '$.files[*]')) as file from manifest)
        select
            file ->> 'key' as key,
            (file ->> 'table_version') = (select doc ->> 'table_version' from manifest) as same_version,
            epoch_ms((file ->> 'loaded_at')::timestamptz)::varchar as loaded_at_ms
        from files
    {%- endset -%}
    {%- set stream_dir = igdb_lake_prefix() ~ ('/' if location.layout == 'incremental' else '/dimensions/') ~ stream ~ '/' -%}
    {%- set files = [] -%}
    {%- for row in run_query(files_sql).rows -%}
        {%- if not row['key'] or not row['key'].startswith(stream_dir) -%}
            {{ exceptions.raise_compiler_error(
                "invalid manifest " ~ location.path ~ ": file key " ~ row['key'] ~ " is not under " ~ stream_dir) }}
        {%- endif -%}
        {%- if not row['same_version'] -%}
            {{ exceptions.raise_compiler_error(
                "invalid manifest " ~ location.path ~ ": file " ~ row['key'] ~ " belongs to another table_version") }}
        {%- endif -%}
        {%- do files.append({
            'key': row['key'],
            'path': igdb_sql_string(igdb_lake_root() ~ '/' ~ row['key']),
            'loaded_at_ms': row['loaded_at_ms'] | string,
        }) -%}
    {%- endfor -%}
    {{ return({
        'path': location.path,
        'layout': location.layout,
        'table_version': header['table_version'] | string,
        'updated_at': header['updated_at'] | string,
        'files': files,
    }) }}
{% endmacro %}
