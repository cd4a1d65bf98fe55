-- One row per order: the rider step's outcome. The primary key makes the first decision for
-- an order the only one. Status: 0 assigned, 4 rejected, 5 unassigned (compensated).
-- compensated_before_forward marks a tombstone: the compensation came first, so a late
-- restaurant_reserved must assign nothing.
create table rider_assignments (
  order_id text primary key,
  user_id text not null,
  status smallint not null check (status in (0, 4, 5)),
  compensated_before_forward boolean not null default false,
  reason text,
  details jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
