import {
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from '@nats-io/transport-node';

/**
 * One inbox with at most one open pull request. A JetStream message carries its original subject,
 * not the request's inbox, so the subscription a message arrives on is the only way to know which
 * request it fills; a slot is reused for request after request.
 */
export class Slot {
  readonly inbox: string;
  readonly sub: NatsSubscription;
  requested = 0;
  received = 0;
  deadline = 0;
  /** Replaced after its request was presumed lost; late messages are still handed over. */
  retiredUntil = 0;

  constructor(
    nc: NatsConnection,
    inboxPrefix: string | undefined,
    onMessage: (slot: Slot, error: Error | null, msg: Msg) => void,
  ) {
    this.inbox = createInbox(inboxPrefix);
    this.sub = nc.subscribe(this.inbox, { callback: (error, msg) => onMessage(this, error, msg) });
  }
}
