import type { Menu, OrderHistory } from '@cads/bff/contracts';
import { html, nothing, type TemplateResult } from 'lit';
import { ApiError, networkErrorMessage, type Api } from './api.ts';
import { formatCents, formatDateTime } from './format.ts';
import { icon } from './icons.ts';
import { LightElement } from './light-element.ts';
import { orderHref } from './route.ts';

type OrderSummary = OrderHistory['orders'][number];

const statusChips: Readonly<
  Record<OrderSummary['statusText'], { label: string; variant: 'brand' | 'success' | 'danger' }>
> = {
  created: { label: 'In progress', variant: 'brand' },
  updated: { label: 'In progress', variant: 'brand' },
  completed: { label: 'Delivered', variant: 'success' },
  cancelled: { label: 'Cancelled', variant: 'danger' },
};

/** The user's orders, newest first, loaded each time the screen opens. */
export class HistoryScreen extends LightElement {
  static override properties = {
    api: { attribute: false },
    menu: { attribute: false },
    orders: { state: true },
    error: { state: true },
  };

  declare api: Api;
  declare menu: Menu | undefined;
  declare private orders: OrderHistory['orders'] | undefined;
  declare private error: string | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    this.error = undefined;
    try {
      this.orders = (await this.api.orders()).orders;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : networkErrorMessage;
    }
  }

  protected override render(): TemplateResult {
    return html`
      <section class="page" data-testid="history">
        <header class="page-head">
          <h1>Your orders</h1>
          <p class="page-head__lead">Every order you placed, newest first.</p>
        </header>
        ${this.renderBody()}
      </section>
    `;
  }

  private renderBody(): TemplateResult {
    if (this.error) {
      return html`<wa-callout variant="danger" role="alert">
          <span slot="icon">${icon('alert')}</span>
          <strong>Your orders could not be loaded.</strong><br />${this.error}
        </wa-callout>
        <p>
          <button type="button" class="wa-brand" @click=${() => void this.load()}>
            ${icon('refresh')}<span>Try again</span>
          </button>
        </p>`;
    }
    const orders = this.orders;
    if (!orders) {
      return html`<div class="list-skeleton" aria-busy="true" aria-label="Loading your orders">
        ${[0, 1, 2].map(() => html`<wa-skeleton effect="sheen"></wa-skeleton>`)}
      </div>`;
    }
    if (orders.length === 0) {
      return html`<div class="empty-state empty-state--inline">
        <span class="empty-state__icon" aria-hidden="true">${icon('orders')}</span>
        <h2>No orders yet</h2>
        <p>When you place an order, it shows up here.</p>
        <a class="wa-button wa-brand" href="#/">Browse the menu</a>
      </div>`;
    }
    return html`<ul class="list">
      ${orders.map((order) => this.renderOrder(order))}
    </ul>`;
  }

  private renderOrder(order: OrderSummary): TemplateResult {
    const restaurant = this.menu?.find(({ id }) => id === order.restaurantId);
    const chip = statusChips[order.statusText];
    const placedAt = formatDateTime(order.createdAt);
    return html`<li>
      <a
        class="list-item"
        href=${orderHref(order.orderId)}
        data-testid="history-item-${order.orderId}"
      >
        <span class="list-item__icon" aria-hidden="true">${icon('bag')}</span>
        <span class="list-item__main">
          <span class="list-item__title">${restaurant?.name ?? 'Restaurant'}</span>
          ${placedAt ? html`<span class="list-item__meta">${placedAt}</span>` : nothing}
        </span>
        <span class="list-item__side">
          <span class="list-item__amount">${formatCents(order.priceCents)}</span>
          <wa-tag size="s" pill variant=${chip.variant}>${chip.label}</wa-tag>
        </span>
        <span class="list-item__chevron" aria-hidden="true">${icon('chevronRight')}</span>
      </a>
    </li>`;
  }
}

customElements.define('cads-history', HistoryScreen);

declare global {
  interface HTMLElementTagNameMap {
    'cads-history': HistoryScreen;
  }
}
