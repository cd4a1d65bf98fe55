-- broker_publish may be called from a transaction whose search path is another schema of the
-- same database (a service appending its events in its own transaction, see appendWithin):
-- it keeps the search path it was created with, so its tables are always the broker's own.
alter function broker_publish(text[], text[], text[], text[], text, text)
  set search_path from current;
