{% macro unix_seconds_to_utc(column) %}
    {#- IGDB v4 times are unix seconds; a naive timestamp in UTC reads the same in every session time zone. -#}
    make_timestamp({{ column }} * 1000000)
{%- endmacro %}


{% macro igdb_load_order_desc(has_updated_at=true) %}
    {#- Latest record first: newest updated_at (for streams that have one), then
        latest load (manifest file position, extraction time, scan order within
        the read). -#}
    {%- if has_updated_at %}
    updated_at desc nulls last,
    {%- endif %}
    _igdb_file_position desc,
    _sdc_extracted_at desc nulls last,
    _igdb_row desc
{%- endmacro %}


{% macro igdb_latest_per_key(relation, key, has_updated_at=true) %}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ key }} order by {{ igdb_load_order_desc(has_updated_at) }}) = 1
{%- endmacro %}


{% macro igdb_names_of(ids, names_by_id) %}
    {#- The sorted distinct names of a list of ids, looked up in an id -> name
        map; ids the map lacks are left out, and no ids give []. -#}
    coalesce(list_sort(list_distinct(list_transform({{ ids }}, lambda item: {{ names_by_id }}[item]))), [])
{%- endmacro %}
