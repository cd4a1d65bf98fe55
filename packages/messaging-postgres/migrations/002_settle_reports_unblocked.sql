-- broker_settle now reports the groups in which a removal unblocked the next row of its key, so
-- that a settle wakes only the subscriptions that have new work (an empty fetch after every
-- ack was most of the fetches under load). Same locking and effects as before.
drop function broker_settle(bigint[], bigint[], integer[], float8[]);

create function broker_settle(
  p_group_ids bigint[],
  p_positions bigint[],
  p_attempts integer[],
  p_delays_ms float8[]
) returns table (group_id bigint)
language plpgsql as $$
begin
  perform 1 from broker_group g
  where g.id in (select distinct unnest(p_group_ids))
  order by g.id
  for key share;

  return query
  with input as (
    select * from unnest(p_group_ids, p_positions, p_attempts, p_delays_ms)
      as i(group_id, position, attempt, delay_ms)
  ), removed as (
    delete from broker_delivery d using input i
    where i.delay_ms is null and d.group_id = i.group_id and d.position = i.position
    returning d.group_id, d.position, d.key
  ), next as (
    select r.group_id,
           (select min(e.position) from broker_delivery e
            where e.group_id = r.group_id and e.key = r.key and e.position > r.position) as position
    from removed r
    where r.key is not null
  ), unblocked as (
    update broker_delivery d set blocked = false
    from next n
    where d.group_id = n.group_id and d.position = n.position
    returning d.group_id
  ), retried as (
    update broker_delivery d
    set claimed_until = null, visible_at = now() + i.delay_ms * interval '1 millisecond'
    from input i
    where i.delay_ms is not null and d.group_id = i.group_id and d.position = i.position
      and d.attempts = i.attempt
  )
  select distinct u.group_id from unblocked u;
end
$$;
