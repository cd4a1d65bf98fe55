import type { NotificationInbox } from '@cads/bff/contracts';
import { html, nothing, type TemplateResult } from 'lit';
import { formatDateTime } from './format.ts';
import { icon, type IconName } from './icons.ts';
import { emit, LightElement } from './light-element.ts';
import { orderHref } from './route.ts';

type Notification = NotificationInbox[number];

interface KindLook {
  readonly title: string;
  readonly tone: 'success' | 'danger';
  readonly symbol: IconName;
}

/** The food saga's kinds; any other step's refusal (`<step>_rejected`) reads as `otherRefusal`. */
const kinds: Readonly<Record<string, KindLook>> = {
  finished: { title: 'Order delivered', tone: 'success', symbol: 'check' },
  restaurant_rejected: {
    title: 'The restaurant rejected your order',
    tone: 'danger',
    symbol: 'store',
  },
  rider_rejected: { title: 'No rider for your order', tone: 'danger', symbol: 'rider' },
  payment_rejected: { title: 'Your payment was rejected', tone: 'danger', symbol: 'card' },
};
const otherRefusal: KindLook = {
  title: 'Your order was cancelled',
  tone: 'danger',
  symbol: 'cross',
};

const channels: Readonly<Record<Notification['channel'], string>> = {
  email: 'e-mail',
  sms: 'SMS',
  push: 'push notification',
};

/**
 * The inbox: outcomes of orders that finished while the user was away. The app loads it and
 * tracks which ones were seen; `refresh` asks it to load again.
 */
export class NotificationsScreen extends LightElement {
  static override properties = {
    notifications: { attribute: false },
    newIds: { attribute: false },
    loaded: { attribute: false },
    error: { attribute: false },
  };

  declare notifications: NotificationInbox;
  declare newIds: ReadonlySet<string>;
  declare loaded: boolean;
  declare error: string | undefined;

  constructor() {
    super();
    this.notifications = [];
    this.newIds = new Set();
    this.loaded = false;
  }

  protected override render(): TemplateResult {
    return html`
      <section class="page" data-testid="notifications">
        <header class="page-head page-head--split">
          <div>
            <h1>Notifications</h1>
            <p class="page-head__lead">
              When an order finishes while you are away, we let you know here.
            </p>
          </div>
          <button
            type="button"
            class="wa-outlined wa-neutral wa-size-s"
            @click=${() => emit(this, 'refresh', undefined)}
          >
            ${icon('refresh')}<span>Refresh</span>
          </button>
        </header>
        ${
          this.error
            ? html`<wa-callout variant="danger" role="alert">
                <span slot="icon">${icon('alert')}</span>
                <strong>Notifications could not be loaded.</strong><br />${this.error}
              </wa-callout>`
            : nothing
        }
        ${this.renderList()}
      </section>
    `;
  }

  private renderList(): TemplateResult {
    if (!this.loaded) {
      return html`<div class="list-skeleton" aria-busy="true" aria-label="Loading notifications">
        ${[0, 1].map(() => html`<wa-skeleton effect="sheen"></wa-skeleton>`)}
      </div>`;
    }
    if (this.notifications.length === 0) {
      return html`<div class="empty-state empty-state--inline">
        <span class="empty-state__icon" aria-hidden="true">${icon('bell')}</span>
        <h2>Nothing new</h2>
        <p>You are all caught up.</p>
      </div>`;
    }
    return html`<ul class="list">
      ${this.notifications.map((notification) => this.renderItem(notification))}
    </ul>`;
  }

  private renderItem(notification: Notification): TemplateResult {
    const kind = kinds[notification.kind] ?? otherRefusal;
    const sentAt = formatDateTime(notification.createdAt);
    const isNew = this.newIds.has(notification.eventId);
    return html`<li
      class="notification ${isNew ? 'notification--new' : ''}"
      data-testid="notification-item"
      data-kind=${notification.kind}
      data-order-id=${notification.orderId}
    >
      <span class="notification__icon notification__icon--${kind.tone}" aria-hidden="true">
        ${icon(kind.symbol)}
      </span>
      <div class="notification__body">
        <p class="notification__title">
          <span>${kind.title}</span>
          ${isNew ? html`<wa-badge variant="brand" pill>New</wa-badge>` : nothing}
        </p>
        <p class="notification__message">${notification.message}</p>
        ${
          notification.reason
            ? html`<p class="notification__reason">Reason: ${notification.reason}</p>`
            : nothing
        }
        ${
          notification.receiptId
            ? html`<p class="notification__reason">
                Receipt <span class="mono">${notification.receiptId}</span>
              </p>`
            : nothing
        }
        <p class="notification__meta">
          Sent by
          ${channels[notification.channel] ?? notification.channel}${sentAt ? ` · ${sentAt}` : ''}
        </p>
      </div>
      <a
        class="wa-button wa-outlined wa-neutral wa-size-s notification__link"
        href=${orderHref(notification.orderId)}
      >
        View order
      </a>
    </li>`;
  }
}

customElements.define('cads-notifications', NotificationsScreen);

declare global {
  interface HTMLElementTagNameMap {
    'cads-notifications': NotificationsScreen;
  }
}
