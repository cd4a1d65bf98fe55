-- Records one saga event of an order in one call (see src/store/order-events.ts): locks the
-- order's row, inserts the event unless its id is known or the order is another user's, and
-- returns the row with every event of the order when the event was recorded.
--
-- A VOLATILE function takes a fresh snapshot for each statement (READ COMMITTED): the events
-- are read after the lock is held, so they include any recorded by a transaction that held it
-- meanwhile, as separate statements would. PL/pgSQL also keeps the plans of its statements
-- for the session, so a call costs less than planning each statement anew.
create function record_order_event(
  p_order_id text,
  p_user_id text,
  p_event_id text,
  p_type text,
  p_time timestamptz,
  p_data jsonb
) returns table (
  order_user_id text,
  order_price_cents integer,
  order_status smallint,
  recorded boolean,
  events json
) language plpgsql volatile as $$
declare
  inserted integer := 0;
begin
  select o.user_id, o.price_cents, o.status
  into order_user_id, order_price_cents, order_status
  from orders as o where o.order_id = p_order_id
  for update;
  if not found then
    return;
  end if;
  if order_user_id = p_user_id then
    insert into order_events (event_id, order_id, type, time, data)
    values (p_event_id, p_order_id, p_type, p_time, p_data)
    on conflict (event_id) do nothing;
    get diagnostics inserted = row_count;
  end if;
  recorded := inserted > 0;
  if recorded then
    select json_agg(e) into events
    from (select event_id, type, time, data from order_events where order_id = p_order_id) as e;
  end if;
  return next;
end
$$;
