-- A saga whose deadline passed ends in a notification of its own kind, `timed_out`.
alter table notifications drop constraint notifications_kind_check;
alter table notifications add constraint notifications_kind_check
  check (kind in ('finished', 'timed_out') or kind ~ '^[a-z][a-z0-9_]*_rejected$');
