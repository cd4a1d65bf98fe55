-- One row per requested trip. Its state is not stored: it is the saga map's verdict on the
-- set of its events, computed when read.
create table trips (
  trip_id text primary key,
  traveller text not null,
  destination text not null,
  requested_at timestamptz not null
);

-- Every event of every trip, as received: idempotent by event id.
create table trip_events (
  event_id text primary key,
  trip_id text not null references trips (trip_id),
  type text not null,
  data jsonb not null
);

create index trip_events_by_trip on trip_events (trip_id);
