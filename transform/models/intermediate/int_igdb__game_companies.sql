with

involved_companies as (

    select * from {{ ref('stg_igdb__involved_companies') }}

),

-- A company can be involved in a game more than once (one row per role set).
per_game_company as (

    select
        game_id,
        company_id,
        bool_or(is_developer) as is_developer,
        bool_or(is_publisher) as is_publisher,
        bool_or(is_porting) as is_porting,
        bool_or(is_supporting) as is_supporting
    from involved_companies
    where game_id is not null and company_id is not null
    group by game_id, company_id

)

select * from per_game_company
