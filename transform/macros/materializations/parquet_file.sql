{#- A model whose product is one Parquet file under the mart root: the query is
    written straight to the file, and the relation is a view over it, so tests
    and downstream models read the file. No DuckDB table is written only to be
    copied out (the DuckDB file is scratch in prod): that write, its
    compression and its buffers (a table's row groups of 122,880 wide rows)
    are saved.
    Config: location (under the mart root), parquet_metadata (key-value pairs
    written into the file's footer). -#}

{% materialization parquet_file, adapter='duckdb' %}
    {%- set location = igdb_mart_location(config.require('location')) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing_relation = load_cached_relation(this) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- call statement('main') -%}
        {{ igdb_copy_to_parquet('(' ~ compiled_code ~ ')', location, config.get('parquet_metadata', {})) }}
    {%- endcall -%}

    {#- A table of that name from an earlier build cannot be replaced by a view. -#}
    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {%- call statement('view') -%}
        create or replace view {{ target_relation }} as select * from read_parquet('{{ location }}')
    {%- endcall -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
