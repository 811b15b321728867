{% macro igdb_mart_location(relative_path) %}
    {#- A path under the mart root (profile `external_root`: output/marts in dev, s3:// in prod). -#}
    {{ return(igdb_sql_string(adapter.external_root().rstrip('/') ~ '/' ~ relative_path)) }}
{% endmacro %}


{% macro igdb_export_parquet(relative_path) %}
    {#- Post-hook: write the model's table as one Parquet file under the mart root.
        On S3 the PUT replaces the object atomically. On local disk the
        igdb_lake plugin has created the directory (profile: mart_directories). -#}
    {%- set location = igdb_mart_location(relative_path) -%}
    copy {{ this }} to '{{ location }}' (format parquet, compression zstd)
{% endmacro %}
