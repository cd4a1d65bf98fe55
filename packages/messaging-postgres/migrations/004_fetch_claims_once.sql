-- broker_fetch copies first and claims once: one claim statement per fetch instead of two (the
-- claim is most of a fetch's cost). Rows copied by this fetch have higher positions than every
-- row already in the group, so one claim in position order returns what the two did. When the
-- group already holds enough claimable rows the copy is not needed yet; it is bounded, and its
-- rows are claimed by a later fetch.
create or replace function broker_fetch(
  p_group_id bigint,
  p_types text[],
  p_limit integer,
  p_window integer,
  p_claim_ms integer
) returns table (r_position bigint, r_attempts integer, r_payload text)
language plpgsql as $$
declare
  v_read bigint;
  v_room integer;
  v_last bigint;
  v_pulled integer;
  v_head bigint;
begin
  select g.read_position into v_read from broker_group g where g.id = p_group_id for update;
  if not found then
    raise exception 'cads.broker: consumer group % does not exist', p_group_id
      using errcode = 'P0002';
  end if;

  select p_window - count(*) into v_room
  from (select 1 from broker_delivery d where d.group_id = p_group_id limit p_window) held;
  if v_room > 0 then
    -- Small steps keep each fetch's work bounded; a step not cut short reached the head.
    v_room := least(v_room, greatest(4 * p_limit, 256));

    -- One index range per type, merged: a sort over the whole backlog would not scale. The
    -- head is read in the same snapshot: when the copy is not cut short, every entry of these
    -- types up to it has been seen, so the group moves there (idle groups then hold no
    -- retention). A row is blocked when an earlier unsettled row of the group has its key.
    with pulled as (
      insert into broker_delivery (group_id, position, key, blocked)
      select p_group_id, l.position, l.key,
             l.key is not null and (
               row_number() over (partition by l.key order by l.position) > 1
               or exists (select 1 from broker_delivery e
                          where e.group_id = p_group_id and e.key = l.key))
      from (
        select l.position, l.key
        from unnest(p_types) as t(type)
        cross join lateral (
          select e.position, e.key from broker_log e
          where e.type = t.type and e.position > v_read
          order by e.position
          limit v_room
        ) l
        order by l.position
        limit v_room
      ) l
      returning broker_delivery.position
    )
    select max(pulled.position), count(*), (select h.position from broker_head h)
    into v_last, v_pulled, v_head
    from pulled;
    if v_pulled < v_room then
      v_last := v_head;
    end if;
    if v_last > v_read then
      update broker_group set read_position = v_last where id = p_group_id;
    end if;
  end if;

  return query select * from broker_claim(p_group_id, p_limit, p_claim_ms);
end
$$;
