{#- A list column holds distinct values in ascending order (stable output for consumers). -#}
{% test sorted_list(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} != list_sort(list_distinct({{ column_name }}))

{% endtest %}
