-- One row per order: the payment step's outcome. The primary key makes the first decision for
-- an order the only one. Status: 0 charged, 4 rejected. Payment is the last step, so nothing
-- compensates it (5 and tombstones never occur; the columns keep the step table's shape).
create table payment_charges (
  order_id text primary key,
  user_id text not null,
  status smallint not null check (status in (0, 4, 5)),
  compensated_before_forward boolean not null default false,
  reason text,
  details jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
