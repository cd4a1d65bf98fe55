-- Final events some BFF instance pushed to a live connection of their user: that user saw the
-- outcome, so the offline decision must not notify them even if they left a moment later,
-- before the decision was made (it runs in another consumer, possibly on another instance).
create table bff_seen_final_events (
  event_id text primary key,
  seen_at timestamptz not null default now()
);
