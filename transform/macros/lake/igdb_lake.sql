{#- Where the raw lake is and how to look into it (docs/contracts.md section 2). -#}

{% macro igdb_lake_root() %}
    {#- A directory, s3://bucket[/path] or an https base URL (CloudFront). -#}
    {%- set root = var('igdb_lake_root', '') -%}
    {%- set kinds = "a directory, s3://bucket[/path] or an http(s) base URL" -%}
    {%- if not root -%}
        {%- if target.name == 'dev' -%}
            {%- set root = env_var('MELTANO_PROJECT_ROOT', '..') ~ '/output/lake' -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(
                "setting lake_root (IGDB_LAKE_ROOT) is not set: target '" ~ target.name
                ~ "' needs the raw lake root, " ~ kinds
            ) }}
        {%- endif -%}
    {%- elif '://' in root -%}
        {%- set scheme, rest = root.split('://', 1) -%}
        {%- if scheme not in ('s3', 'http', 'https') or not rest.split('/')[0] or ' ' in root -%}
            {#- prod's lake_root is s3://$IGDB_LAKE_BUCKET (meltano.yml) -#}
            {%- set hint = " (is IGDB_LAKE_BUCKET set?)" if root.startswith('s3:///') or root == 's3://' else "" -%}
            {{ exceptions.raise_compiler_error(
                "setting lake_root (IGDB_LAKE_ROOT) must be " ~ kinds ~ ", got '" ~ root ~ "'" ~ hint
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(root.rstrip('/')) }}
{% endmacro %}


{% macro igdb_lake_prefix() %}
    {%- set prefix = var('igdb_lake_prefix', 'raw').strip('/') -%}
    {%- if not prefix -%}
        {{ exceptions.raise_compiler_error(
            "setting lake_prefix (IGDB_LAKE_PREFIX) must not be empty: the raw layer's folder, e.g. raw"
        ) }}
    {%- endif -%}
    {{ return(prefix) }}
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
