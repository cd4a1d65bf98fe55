-- A saga may have more steps than the food saga's three (its map decides): any step's refusal
-- is a kind of its own, `<step>_rejected`.
alter table notifications drop constraint notifications_kind_check;
alter table notifications add constraint notifications_kind_check
  check (kind = 'finished' or kind ~ '^[a-z][a-z0-9_]*_rejected$');
