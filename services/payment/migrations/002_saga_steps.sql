-- The payment step's records move to the saga step runtime's table, `cads_saga_steps`
-- (installed by @cads/service before the service's migrations), which names its statuses and
-- keeps each record's input for the release. `payment_charges` stays, as a view with the seed's
-- columns and status codes (0 charged, 4 rejected; nothing compensates a charge), because the
-- seed's tests, `cads reconcile` and the status readers read it there; instead-of triggers keep it
-- writable for operators and tests that repair or corrupt a record on purpose. A view rather
-- than a second table: the runtime's row stays the only truth, so the two can never disagree.
insert into cads_saga_steps
  (step, saga_id, status, tombstone, input, cause, reason, details, created_at, updated_at)
select 'payment', order_id,
       case status when 0 then 'succeeded' when 4 then 'rejected' else 'compensated' end,
       compensated_before_forward,
       -- Earlier records kept no input: the ids are all the release sends. A tombstone has no
       -- input; the ids it was written for are its cause.
       case when not compensated_before_forward
         then jsonb_build_object('orderId', order_id, 'userId', user_id) end,
       case when compensated_before_forward
         then jsonb_build_object('orderId', order_id, 'userId', user_id) end,
       reason, details, created_at, updated_at
from payment_charges;

drop table payment_charges;

create view payment_charges as
select saga_id as order_id,
       coalesce(input ->> 'userId', cause ->> 'userId') as user_id,
       (case status when 'succeeded' then 0 when 'rejected' then 4 else 5 end)::smallint as status,
       tombstone as compensated_before_forward,
       reason,
       details,
       created_at,
       updated_at
from cads_saga_steps
where step = 'payment';

create function payment_charges_write() returns trigger language plpgsql as $$
declare
  named text := case new.status when 0 then 'succeeded' when 4 then 'rejected'
                                when 5 then 'compensated' end;
  ids jsonb := jsonb_build_object('orderId', new.order_id, 'userId', new.user_id);
begin
  if tg_op = 'INSERT' then
    insert into cads_saga_steps
      (step, saga_id, status, tombstone, input, cause, reason, details, created_at, updated_at)
    values ('payment', new.order_id, named, coalesce(new.compensated_before_forward, false),
            case when coalesce(new.compensated_before_forward, false) then null else ids end,
            case when coalesce(new.compensated_before_forward, false) then ids end,
            new.reason, new.details, coalesce(new.created_at, now()),
            coalesce(new.updated_at, now()));
  else
    update cads_saga_steps
    set saga_id = new.order_id, status = named, reason = new.reason, details = new.details,
        created_at = new.created_at, updated_at = new.updated_at,
        input = case when input is null then null else input || ids end,
        cause = case when cause is null then null else cause || ids end
    where step = 'payment' and saga_id = old.order_id;
  end if;
  return new;
end
$$;

create function payment_charges_delete() returns trigger language plpgsql as $$
begin
  delete from cads_saga_steps where step = 'payment' and saga_id = old.order_id;
  return old;
end
$$;

create trigger payment_charges_write instead of insert or update on payment_charges
  for each row execute function payment_charges_write();
create trigger payment_charges_delete instead of delete on payment_charges
  for each row execute function payment_charges_delete();
