import type { LiveMessage, LiveTransport, Menu, OrderView } from '@cads/bff/contracts';
import type { SagaDescription } from '@cads/saga/verdict';
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { icon } from './icons.ts';
import { emit, LightElement } from './light-element.ts';
import type { ConnectLive, LiveConnection, LiveStatus } from './live.ts';
import { formatCents, formatDateTime } from './format.ts';
import {
  addEvents,
  orderProgress,
  type OrderProgress,
  type TimelineEntry,
} from './order-progress.ts';
import { renderOrderStepper } from './order-stepper.ts';

/**
 * How long a live connection stays open once nothing more can change. The BFF decides whether
 * to notify the user of a final event by whether they are connected; closing at the very moment
 * the event arrives could race that decision and notify a user who watched it happen.
 */
const settledLingerMs = 3_000;
/**
 * How long a live connection stays open after the final event when compensations it causes
 * have not arrived yet (they normally follow within a second or two).
 */
const compensationGraceMs = 30_000;

/**
 * One order, live: its progress through the saga's map (`saga`, from `GET /api/saga`) from the
 * snapshot and live events of its stream, applied idempotently by event id. The connection
 * closes once nothing more can change and when the element leaves the page. Until the map is
 * known the screen shows it is loading (or `sagaError`, with a `saga-retry` button).
 */
export class OrderScreen extends LightElement {
  static override properties = {
    orderId: { attribute: false },
    menu: { attribute: false },
    saga: { attribute: false },
    sagaError: { attribute: false },
    transport: { attribute: false },
    connectLive: { attribute: false },
    slowNoticeMs: { attribute: false },
    events: { state: true },
    order: { state: true },
    liveStatus: { state: true },
    slow: { state: true },
    streamError: { state: true },
  };

  declare orderId: string;
  declare menu: Menu | undefined;
  declare saga: SagaDescription | undefined;
  /** Why the saga's map could not be loaded (the app retries on its own, and on `saga-retry`). */
  declare sagaError: string | undefined;
  declare transport: LiveTransport;
  declare connectLive: ConnectLive;
  declare slowNoticeMs: number;
  declare private events: ReadonlyMap<string, TimelineEntry>;
  /** The latest snapshot: the order's facts (restaurant, cart, catalogue price, time). */
  declare private order: OrderView | undefined;
  declare private liveStatus: LiveStatus;
  declare private slow: boolean;
  declare private streamError: string | undefined;

  /** `undefined` until the saga's map is known. */
  private progress: OrderProgress | undefined;
  private connection: LiveConnection | undefined;
  private slowTimer: ReturnType<typeof setTimeout> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** When `closeTimer` fires (epoch ms). */
  private closeAt: number | undefined;

  constructor() {
    super();
    this.orderId = '';
    this.transport = 'sse';
    this.slowNoticeMs = 5_000;
    this.events = new Map();
    this.liveStatus = 'connecting';
    this.slow = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.connection = this.connectLive(this.orderId, {
      onMessage: (message) => this.receive(message),
      onStatus: (status) => {
        this.liveStatus = status;
      },
    });
    this.slowTimer = setTimeout(() => {
      this.slow = true;
    }, this.slowNoticeMs);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopLive();
    clearTimeout(this.slowTimer);
  }

  private receive(message: LiveMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.order = message.order;
        this.events = addEvents(this.events, message.order.timeline);
        break;
      case 'saga':
        this.events = addEvents(this.events, [message.event]);
        break;
      case 'error':
        this.streamError = message.detail;
        break;
    }
  }

  private stopLive(): void {
    this.connection?.close();
    this.connection = undefined;
    clearTimeout(this.closeTimer);
    this.closeAt = undefined;
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (!changed.has('events') && !changed.has('saga')) return;
    if (!this.saga) return;
    this.progress = orderProgress(this.saga, this.events.values());
    if (this.progress.final) clearTimeout(this.slowTimer);
    if (this.progress.settled) this.closeLiveIn(settledLingerMs);
    else if (this.progress.final) this.closeLiveIn(compensationGraceMs);
  }

  /** Closes the live connection after `delayMs`, unless it is already due to close sooner. */
  private closeLiveIn(delayMs: number): void {
    if (!this.connection) return;
    const at = Date.now() + delayMs;
    if (this.closeAt !== undefined && this.closeAt <= at) return;
    clearTimeout(this.closeTimer);
    this.closeAt = at;
    this.closeTimer = setTimeout(() => {
      this.stopLive();
      this.liveStatus = 'closed';
    }, delayMs);
  }

  protected override render(): TemplateResult {
    if (this.liveStatus === 'not-found') return renderNotFound();
    // Nothing is shown of the order before its state arrives, so no step ever flashes a state
    // the order has already left.
    const progress = this.progress;
    if (!progress || (!this.order && this.events.size === 0)) return this.renderLoading();
    const restaurant = this.menu?.find(({ id }) => id === this.order?.restaurantId);
    const placedAt = this.order && formatDateTime(this.order.createdAt);
    return html`
      <section class="page order" data-testid="order-view" data-order-id=${this.orderId}>
        <a class="back-link" href="#/history"
          >${icon('arrowLeft', 'icon icon--s')}<span>All orders</span></a
        >
        <header class="order__head">
          <div>
            <h1>${restaurant ? `Your order from ${restaurant.name}` : 'Your order'}</h1>
            <p class="quiet order__meta">
              <span>Order <span class="mono">${shortId(this.orderId)}</span></span>
              ${
                placedAt
                  ? html`<span aria-hidden="true">·</span> <span>${placedAt}</span>`
                  : nothing
              }
            </p>
          </div>
          ${this.renderLiveStatus()}
        </header>
        ${this.renderStatus(progress)}
        ${
          this.slow && !progress.final
            ? html`<wa-callout variant="warning" class="slow-notice" data-testid="slow-notice">
                <span slot="icon">${icon('clock')}</span>
                <strong>This is taking a while — you can leave, we'll notify you.</strong><br />
                Your order keeps going without this page. When it is done, you'll find the outcome
                under Notifications.
              </wa-callout>`
            : nothing
        }
        ${
          this.streamError
            ? html`<wa-callout variant="neutral" role="status">${this.streamError}</wa-callout>`
            : nothing
        }
        <wa-card class="order__progress">
          <div class="card-content">
            <h2 class="card-title">Progress</h2>
            ${renderOrderStepper(progress, this.order)}
          </div>
        </wa-card>
        <div class="order__grid">${this.renderDetails(progress)} ${this.renderItems()}</div>
      </section>
    `;
  }

  private renderLoading(): TemplateResult {
    return html`
      <section class="page order" aria-busy="true">
        <a class="back-link" href="#/history"
          >${icon('arrowLeft', 'icon icon--s')}<span>All orders</span></a
        >
        <header class="order__head">
          <div>
            <h1>Your order</h1>
            <p class="quiet order__meta">
              Loading order <span class="mono">${shortId(this.orderId)}</span>…
            </p>
          </div>
          ${this.renderLiveStatus()}
        </header>
        ${
          this.streamError
            ? html`<wa-callout variant="neutral" role="status">${this.streamError}</wa-callout>`
            : nothing
        }
        ${this.renderSagaError()}
        <wa-skeleton class="order-skeleton order-skeleton--banner" effect="sheen"></wa-skeleton>
        <wa-skeleton class="order-skeleton order-skeleton--card" effect="sheen"></wa-skeleton>
      </section>
    `;
  }

  private renderSagaError(): TemplateResult | typeof nothing {
    if (this.saga || !this.sagaError) return nothing;
    return html`<wa-callout variant="danger" role="alert" data-testid="saga-error">
        <span slot="icon">${icon('alert')}</span>
        <strong>The order's steps could not be loaded.</strong><br />${this.sagaError} Trying again…
      </wa-callout>
      <p>
        <button type="button" class="wa-brand" @click=${() => emit(this, 'saga-retry', undefined)}>
          ${icon('refresh')}<span>Try again now</span>
        </button>
      </p>`;
  }

  private renderLiveStatus(): TemplateResult {
    const connected = this.liveStatus === 'open';
    const label: Record<LiveStatus, string> = {
      connecting: 'Connecting…',
      open: 'Live',
      reconnecting: 'Reconnecting…',
      'not-found': 'Not found',
      closed: 'Up to date',
    };
    return html`<span
      class="live-status live-status--${this.liveStatus}"
      data-testid="live-status"
      data-transport=${this.transport}
      data-connected=${connected ? 'true' : 'false'}
      title="Live updates over ${this.transport === 'ws' ? 'WebSocket' : 'Server-Sent Events'}"
    >
      <span class="live-status__dot" aria-hidden="true"></span>
      <span>${label[this.liveStatus]}</span>
    </span>`;
  }

  private renderStatus(progress: OrderProgress): TemplateResult {
    const { headline, detail, variant, symbol } = statusText(progress, this.events.size > 0);
    return html`
      <div
        class="status-banner status-banner--${variant}"
        role="status"
        data-testid="order-status"
        data-status=${progress.outcome}
        data-final=${progress.final ? 'true' : 'false'}
      >
        <span class="status-banner__icon" aria-hidden="true">
          ${symbol === 'spinner' ? html`<wa-spinner></wa-spinner>` : icon(symbol)}
        </span>
        <div>
          <p class="status-banner__headline">${headline}</p>
          <p class="status-banner__detail">${detail}</p>
        </div>
      </div>
    `;
  }

  /**
   * The order's own facts; what each step reported is drawn under its step in the stepper.
   */
  private renderDetails(progress: OrderProgress): TemplateResult {
    const order = this.order;
    const restaurant = this.menu?.find(({ id }) => id === order?.restaurantId);
    const later = (waiting: string): TemplateResult =>
      html`<span class="quiet">${progress.final ? '—' : waiting}</span>`;
    return html`
      <wa-card class="order__details" data-testid="details-card">
        <div class="card-content">
          <h2 class="card-title">Details</h2>
          <dl class="facts">
            <div class="facts__row">
              <dt>${icon('store', 'icon icon--s')}Restaurant</dt>
              <dd>${restaurant?.name ?? later('Loading…')}</dd>
            </div>
            <div class="facts__row">
              <dt>${icon('card', 'icon icon--s')}Price</dt>
              <dd>
                ${
                  order
                    ? html`<strong data-testid="order-price"
                        >${formatCents(order.priceCents)}</strong
                      >`
                    : later('Loading…')
                }
              </dd>
            </div>
          </dl>
        </div>
      </wa-card>
    `;
  }

  private renderItems(): TemplateResult | typeof nothing {
    const order = this.order;
    if (!order) return nothing;
    const restaurant = this.menu?.find(({ id }) => id === order.restaurantId);
    const dishes = new Map(restaurant?.dishes.map((dish) => [dish.id, dish]));
    return html`<wa-card class="order__items">
      <div class="card-content">
        <h2 class="card-title">Items</h2>
        <ul class="items">
          ${order.cart.map(({ itemId, amount }) => {
            const dish = dishes.get(itemId);
            return html`<li>
              <span class="items__amount">${amount} ×</span>
              <span>${dish?.name ?? itemId}</span>
              ${
                dish
                  ? html`<span class="items__price">${formatCents(dish.priceCents * amount)}</span>`
                  : nothing
              }
            </li>`;
          })}
        </ul>
      </div>
    </wa-card>`;
  }
}

function renderNotFound(): TemplateResult {
  return html`<section class="empty-state" data-testid="order-not-found" role="alert">
    <span class="empty-state__icon" aria-hidden="true">${icon('alert')}</span>
    <h1>Order not found</h1>
    <p>This order does not exist, or it belongs to someone else.</p>
    <div class="empty-state__actions">
      <a class="wa-button wa-brand" href="#/">Back to the menu</a>
      <a class="wa-button wa-neutral wa-outlined" href="#/history">Your orders</a>
    </div>
  </section>`;
}

interface StatusText {
  readonly headline: string;
  readonly detail: string;
  readonly variant: 'brand' | 'success' | 'danger';
  readonly symbol: 'spinner' | 'check' | 'cross';
}

function statusText(progress: OrderProgress, anyEvent: boolean): StatusText {
  if (progress.outcome === 'completed') {
    return {
      headline: 'Order complete',
      detail: 'Every step is done. Enjoy your meal!',
      variant: 'success',
      symbol: 'check',
    };
  }
  if (progress.outcome === 'cancelled') {
    const rejection = progress.rejection;
    return {
      headline: rejection ? `Cancelled: ${rejection.reason}` : 'Cancelled',
      detail: cancellationDetail(progress),
      variant: 'danger',
      symbol: 'cross',
    };
  }
  const steps = progress.steps;
  const index = steps.findIndex(({ name }) => name === progress.current);
  const current = steps[index];
  return {
    headline: 'Order placed — in progress',
    detail:
      !anyEvent || !current
        ? 'Loading your order…'
        : index === 0
          ? 'Sending your order…'
          : `Waiting for ${current.label} (step ${index + 1} of ${steps.length})…`,
    variant: 'brand',
    symbol: 'spinner',
  };
}

/** Which step refused, and which earlier steps have released (or are releasing) their part. */
function cancellationDetail(progress: OrderProgress): string {
  const labelOf = (name: string): string =>
    progress.steps.find((step) => step.name === name)?.label ?? name;
  const released = progress.steps
    .filter(({ state }) => state === 'compensated')
    .map(({ label }) => label);
  const releasing = progress.awaitingCompensation.map(labelOf);
  const rejection = progress.rejection;
  return [
    rejection
      ? progress.timedOut
        ? `${rejection.label} did not answer in time, so your order was cancelled.`
        : `${rejection.label} could not go ahead, so your order was cancelled.`
      : 'Your order was cancelled.',
    released.length > 0 ? `${listed(released)} released ${their(released)} part.` : '',
    releasing.length > 0
      ? `Waiting for ${listed(releasing)} to release ${their(releasing)} part…`
      : '',
  ]
    .filter((sentence) => sentence !== '')
    .join(' ');
}

function listed(labels: readonly string[]): string {
  return labels.length <= 1
    ? (labels[0] ?? '')
    : `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
}

function their(labels: readonly string[]): string {
  return labels.length === 1 ? 'its' : 'their';
}

function shortId(orderId: string): string {
  return orderId.length > 12 ? `…${orderId.slice(-8)}` : orderId;
}

customElements.define('cads-order', OrderScreen);

declare global {
  interface HTMLElementTagNameMap {
    'cads-order': OrderScreen;
  }
}
