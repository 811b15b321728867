{#- Where the raw lake is and how to look into it (docs/contracts.md section 2). -#}

{% macro igdb_lake_root() %}
    {#- A directory, s3://bucket[/path] or an https base URL (CloudFront). -#}
    {%- set root = var('igdb_lake_root', '') -%}
    {%- if not root -%}
        {%- if target.name == 'dev' -%}
            {%- set root = env_var('MELTANO_PROJECT_ROOT', '..') ~ '/output/lake' -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(
                "IGDB_LAKE_ROOT is not set: target '" ~ target.name
                ~ "' needs the raw lake root (s3://bucket, an https base URL or a directory)"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(root.rstrip('/')) }}
{% endmacro %}


{% macro igdb_lake_prefix() %}
    {{ return(var('igdb_lake_prefix', 'raw').strip('/')) }}
{% endmacro %}


{% macro igdb_is_http(path) %}
    {{ return(path.startswith('https://') or path.startswith('http://')) }}
{% endmacro %}


{% macro igdb_path_exists(path) %}
    {#- glob() lists local disk and S3, so a missing object is told apart from an
        unreachable or forbidden one (those raise). HTTP cannot list: a failed
        read there counts as absent. -#}
    {%- if igdb_is_http(path) -%}
        {{ return(adapter.location_exists(path)) }}
    {%- endif -%}
    {#- A wildcard makes S3 list the prefix instead of GETting the object. -#}
    {%- set found = run_query(
        "select count(*) from glob('" ~ igdb_sql_string(path) ~ "*') where file = '" ~ path ~ "'") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}


{% macro igdb_sql_string(value) %}
    {#- Paths and keys go into SQL string literals: refuse quotes rather than escape them. -#}
    {%- if "'" in value or "\\" in value -%}
        {{ exceptions.raise_compiler_error("refusing a lake path with a quote or backslash: " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}
