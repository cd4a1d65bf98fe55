export type { OrderServiceOptions } from './app.ts';
export { orderService } from './app.ts';
export type {
  OrderState,
  OrderStatus,
  OrderStatusText,
  OrderTracker,
  RecordedEvent,
  StepView,
} from './domain/order-state.ts';
export { createOrderTracker, statusText } from './domain/order-state.ts';
export { foldOrder, orderTracker } from './order-tracker.ts';
export { readOrderStatus } from './store/orders.ts';
