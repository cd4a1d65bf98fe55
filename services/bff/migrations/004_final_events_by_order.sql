-- The first final event of an order decides its notification: each decision looks for an
-- earlier one of the same order, so the decisions are found by order.
create index bff_final_events_by_order on bff_final_events (order_id);
