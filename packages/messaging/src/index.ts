export type {
  Broker,
  Delivery,
  DeliveryHandler,
  Subscription,
  SubscriptionHandle,
} from './broker.ts';
export { keyOf } from './broker.ts';
export type { Message, NewMessage } from './message.ts';
export {
  createMessage,
  decodeMessage,
  InvalidMessageError,
  MessageSchema,
  parseMessage,
} from './message.ts';
export type { Logger } from './logger.ts';
export { silentLogger } from './logger.ts';
