{% macro igdb_mart_location(relative_path) %}
    {#- A path under the mart root (profile `external_root`: output/marts in dev, s3:// in prod). -#}
    {{ return(igdb_sql_string(adapter.external_root().rstrip('/') ~ '/' ~ relative_path)) }}
{% endmacro %}


{% macro igdb_copy_to_parquet(source, location, metadata={}) %}
    {#- Write a relation or a parenthesized query as one Parquet file, in row
        groups small enough to read back within DuckDB's memory limit (var
        igdb_parquet_row_group_size), with optional key-value metadata.
        On S3 the upload replaces the object atomically when it completes;
        on local disk DuckDB writes a temporary file and renames it, so a
        query may read the file it replaces. The igdb_lake plugin has created
        the local directories (profile: mart_directories). -#}
    copy {{ source }} to '{{ location }}' (
        format parquet,
        compression zstd,
        row_group_size {{ var('igdb_parquet_row_group_size') | int }}
        {%- if metadata %},
        kv_metadata { {%- for key, value in metadata.items() %}{{ key }}: '{{ value }}'{{ ', ' if not loop.last }}{% endfor -%} }
        {%- endif %}
    )
{% endmacro %}
