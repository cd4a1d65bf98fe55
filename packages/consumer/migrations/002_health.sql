-- One row the readiness check writes: a database that can be read but not written (disk full,
-- read-only) must not count as ready.
create table cads_health (
  singleton boolean primary key default true check (singleton),
  checked_at timestamptz not null
);
