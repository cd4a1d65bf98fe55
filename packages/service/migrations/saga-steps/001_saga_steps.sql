-- One row per (step, saga): the step's outcome for that saga. The primary key makes the first
-- decision for a saga the only one; a service that runs several steps keeps them apart by name.
--   input      the forward event's data, validated against the step's declared input, so a
--              compensation can release with it (its own trigger may not carry what the
--              release needs). Null only for a tombstone.
--   tombstone  the compensation came before the forward event: a late forward event must
--              reserve nothing.
--   cause      the failure event's data that compensated the step (tombstone or undone).
--   details    the external system's answer, kept for inspection.
create table cads_saga_steps (
  step text not null,
  saga_id text not null,
  status text not null check (status in ('succeeded', 'rejected', 'compensated')),
  tombstone boolean not null default false,
  input jsonb,
  cause jsonb,
  reason text,
  details jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (step, saga_id),
  check (tombstone = (input is null)),
  check (not tombstone or status = 'compensated')
);
