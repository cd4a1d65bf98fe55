-- One row per (saga, saga id) whose deadline is armed: the saga started and has not ended.
-- The tracker inserts it in the transaction that starts the saga and deletes it in the one that
-- records the saga's end, or when the deadline fires (the same transaction that puts the
-- deadline's event in the outbox), so a deadline survives any restart and fires at most once.
--   due_at    when the deadline passes.
--   message   the deadline event's envelope to emit: its data (the saga's key, the fields the
--             tracker chose to carry) and the saga's correlation id and trace context.
--   attempts  firings that failed (a tracker bug or a bad row): each puts the next one later.
create table cads_saga_deadlines (
  saga text not null,
  saga_id text not null,
  due_at timestamptz not null,
  message jsonb not null,
  attempts integer not null default 0,
  primary key (saga, saga_id)
);

create index cads_saga_deadlines_due on cads_saga_deadlines (due_at);
