export type { OrderServiceOptions } from './app.ts';
export { orderService } from './app.ts';
export type {
  OrderState,
  OrderStatus,
  OrderStatusText,
  RecordedEvent,
} from './domain/order-state.ts';
export { foldOrder, statusText } from './domain/order-state.ts';
export { readOrderStatus } from './store/orders.ts';
