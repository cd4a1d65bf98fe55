import type { Menu, MenuRestaurant } from '@cads/bff/contracts';
import { html, nothing, type TemplateResult } from 'lit';
import { ApiError, networkErrorMessage, type Api } from './api.ts';
import {
  amountOf,
  cartLines,
  cartTotalCents,
  maxAmount,
  parseAmount,
  setAmount,
  type Cart,
  type Dish,
} from './cart.ts';
import { icon } from './icons.ts';
import { emit, LightElement } from './light-element.ts';
import { formatCents } from './format.ts';

export interface CartChange {
  readonly restaurantId: string;
  readonly cart: Cart;
}

export interface OrderPlaced {
  readonly restaurantId: string;
  readonly orderId: string;
}

interface OrderFailure {
  readonly title: string;
  readonly detail: string;
}

/**
 * The menu: restaurants, their dishes with quantities, the cart's total and "Place order".
 * The cart lives with the app (events `cart-change`, `restaurant-select`), so it survives
 * navigation and any failed attempt; `order-placed` reports the accepted order.
 */
export class MenuScreen extends LightElement {
  static override properties = {
    api: { attribute: false },
    menu: { attribute: false },
    menuError: { attribute: false },
    restaurantId: { attribute: false },
    cart: { attribute: false },
    placing: { state: true },
    failure: { state: true },
  };

  declare api: Api;
  declare menu: Menu | undefined;
  declare menuError: string | undefined;
  declare restaurantId: string | undefined;
  declare cart: Cart;
  declare private placing: boolean;
  declare private failure: OrderFailure | undefined;

  constructor() {
    super();
    this.cart = new Map();
    this.placing = false;
  }

  private get restaurant(): MenuRestaurant | undefined {
    return this.menu?.find(({ id }) => id === this.restaurantId) ?? this.menu?.[0];
  }

  private changeAmount(restaurant: MenuRestaurant, itemId: string, amount: number): void {
    const cart = setAmount(this.cart, itemId, amount);
    emit<CartChange>(this, 'cart-change', { restaurantId: restaurant.id, cart });
  }

  private onAmountInput(restaurant: MenuRestaurant, dish: Dish, event: Event): void {
    const input = event.currentTarget;
    if (!(input instanceof HTMLInputElement)) return;
    const amount = parseAmount(input.value);
    // Show the amount that counts (e.g. 50 for "80") unless the field is being cleared.
    if (input.value.trim() !== '' && input.value !== String(amount)) input.value = String(amount);
    this.changeAmount(restaurant, dish.id, amount);
  }

  private async placeOrder(restaurant: MenuRestaurant): Promise<void> {
    const cart = cartLines(this.cart, restaurant.dishes);
    if (this.placing || cart.length === 0) return;
    this.placing = true;
    this.failure = undefined;
    try {
      const accepted = await this.api.placeOrder({ restaurantId: restaurant.id, cart });
      emit<OrderPlaced>(this, 'order-placed', {
        restaurantId: restaurant.id,
        orderId: accepted.orderId,
      });
    } catch (error) {
      this.failure = failureOf(error);
    } finally {
      this.placing = false;
    }
  }

  protected override render(): TemplateResult {
    const menu = this.menu;
    if (!menu) return this.renderLoading();
    const restaurant = this.restaurant;
    return html`
      <section class="page">
        <header class="page-head">
          <h1>What are you craving?</h1>
          <p class="page-head__lead">
            Pick a restaurant, choose your dishes and follow your order live, step by step.
          </p>
        </header>
        <div class="restaurants" role="group" aria-label="Restaurants">
          ${menu.map((candidate, index) => this.renderRestaurant(candidate, index, restaurant))}
        </div>
        ${restaurant ? this.renderRestaurantMenu(restaurant) : nothing}
      </section>
    `;
  }

  private renderLoading(): TemplateResult {
    if (this.menuError) {
      return html`<section class="page">
        <wa-callout variant="danger" role="alert">
          <span slot="icon">${icon('alert')}</span>
          <strong>The menu could not be loaded.</strong><br />${this.menuError}
        </wa-callout>
        <p>
          <button type="button" class="wa-brand" @click=${() => emit(this, 'retry', undefined)}>
            ${icon('refresh')}<span>Try again</span>
          </button>
        </p>
      </section>`;
    }
    return html`<section class="page" aria-busy="true">
      <header class="page-head">
        <h1>What are you craving?</h1>
        <p class="page-head__lead">Loading the menu…</p>
      </header>
      <div class="restaurants">
        ${[0, 1, 2, 3].map(() => html`<wa-skeleton class="restaurant-skeleton" effect="sheen"></wa-skeleton>`)}
      </div>
    </section>`;
  }

  private renderRestaurant(
    restaurant: MenuRestaurant,
    index: number,
    selected: MenuRestaurant | undefined,
  ): TemplateResult {
    const isSelected = restaurant.id === selected?.id;
    const cheapest = Math.min(...restaurant.dishes.map(({ priceCents }) => priceCents));
    return html`
      <button
        type="button"
        class="restaurant-card"
        data-testid="restaurant-${restaurant.id}"
        aria-pressed=${isSelected ? 'true' : 'false'}
        @click=${() => emit(this, 'restaurant-select', restaurant.id)}
      >
        <span class="restaurant-card__art art-${index % 4}" aria-hidden="true">
          ${[...restaurant.name][0] ?? ''}
        </span>
        <span class="restaurant-card__body">
          <span class="restaurant-card__name">${restaurant.name}</span>
          <span class="restaurant-card__meta">
            ${restaurant.dishes.length}
            dishes${Number.isFinite(cheapest) ? html` · from ${formatCents(cheapest)}` : nothing}
          </span>
        </span>
        ${
          isSelected
            ? html`<span class="restaurant-card__check" aria-hidden="true">${icon('check')}</span>`
            : nothing
        }
      </button>
    `;
  }

  private renderRestaurantMenu(restaurant: MenuRestaurant): TemplateResult {
    return html`
      <div class="menu-layout">
        <section class="dishes" aria-labelledby="dishes-heading">
          <div class="dishes__head">
            <h2 id="dishes-heading">${restaurant.name}</h2>
            <p class="quiet">${icon('pin', 'icon icon--s')}<span>${restaurant.address}</span></p>
          </div>
          <ul class="dish-list">
            ${restaurant.dishes.map((dish) => this.renderDish(restaurant, dish))}
          </ul>
        </section>
        ${this.renderSummary(restaurant)}
      </div>
    `;
  }

  private renderDish(restaurant: MenuRestaurant, dish: Dish): TemplateResult {
    const amount = amountOf(this.cart, dish.id);
    const inputId = `qty-input-${dish.id}`;
    return html`
      <li class="dish ${amount > 0 ? 'dish--in-cart' : ''}" data-testid="dish-${dish.id}">
        <div class="dish__info">
          <label class="dish__name" for=${inputId}>${dish.name}</label>
          <span class="dish__price">${formatCents(dish.priceCents)}</span>
        </div>
        <div class="stepper-input" role="group" aria-label="Quantity of ${dish.name}">
          <button
            type="button"
            class="stepper-input__button ${amount === 0 ? 'is-at-limit' : ''}"
            data-testid="dec-${dish.id}"
            aria-label="One less ${dish.name}"
            @click=${() => this.changeAmount(restaurant, dish.id, amount - 1)}
          >
            −
          </button>
          <input
            id=${inputId}
            type="number"
            inputmode="numeric"
            min="0"
            max=${maxAmount}
            step="1"
            data-testid="qty-${dish.id}"
            aria-label="Quantity of ${dish.name}"
            .value=${String(amount)}
            @input=${(event: Event) => this.onAmountInput(restaurant, dish, event)}
            @change=${(event: Event) => {
              const input = event.currentTarget;
              if (input instanceof HTMLInputElement) input.value = String(parseAmount(input.value));
            }}
          />
          <button
            type="button"
            class="stepper-input__button ${amount >= maxAmount ? 'is-at-limit' : ''}"
            data-testid="inc-${dish.id}"
            aria-label="One more ${dish.name}"
            @click=${() => this.changeAmount(restaurant, dish.id, amount + 1)}
          >
            +
          </button>
        </div>
      </li>
    `;
  }

  private renderSummary(restaurant: MenuRestaurant): TemplateResult {
    const lines = cartLines(this.cart, restaurant.dishes);
    const totalCents = cartTotalCents(this.cart, restaurant.dishes);
    const names = new Map(restaurant.dishes.map((dish) => [dish.id, dish]));
    const empty = lines.length === 0;
    return html`
      <aside class="summary" aria-labelledby="summary-heading">
        <wa-card class="summary__card">
          <div class="summary__content">
            <h2 id="summary-heading" class="summary__title">
              ${icon('bag')}<span>Your order</span>
            </h2>
            ${
              empty
                ? html`<p class="summary__empty quiet">
                    Your cart is empty. Add dishes with the + buttons.
                  </p>`
                : html`<ul class="summary__lines">
                    ${lines.map(({ itemId, amount }) => {
                      const dish = names.get(itemId);
                      return html`<li>
                        <span class="summary__amount">${amount} ×</span>
                        <span class="summary__dish">${dish?.name ?? itemId}</span>
                        <span class="summary__price"
                          >${formatCents((dish?.priceCents ?? 0) * amount)}</span
                        >
                      </li>`;
                    })}
                  </ul>`
            }
            <div class="summary__total">
              <span>Total</span>
              <strong data-testid="order-total" aria-live="polite"
                >${formatCents(totalCents)}</strong
              >
            </div>
            ${
              this.failure
                ? html`<wa-callout
                    variant="danger"
                    class="order-error"
                    role="alert"
                    data-testid="order-error"
                  >
                    <span slot="icon">${icon('alert')}</span>
                    <strong>${this.failure.title}</strong><br />
                    <span class="order-error__detail">${this.failure.detail}</span>
                  </wa-callout>`
                : nothing
            }
            <button
              type="button"
              class="wa-brand summary__place"
              data-testid="place-order"
              ?disabled=${empty || this.placing}
              aria-busy=${this.placing ? 'true' : 'false'}
              @click=${() => void this.placeOrder(restaurant)}
            >
              ${this.placing ? html`<wa-spinner></wa-spinner><span>Placing order…</span>` : 'Place order'}
            </button>
          </div>
        </wa-card>
      </aside>
    `;
  }
}

function failureOf(error: unknown): OrderFailure {
  if (error instanceof ApiError && error.kind === 'http') {
    return { title: 'Your order was not accepted.', detail: error.message };
  }
  if (error instanceof ApiError && error.kind === 'invalid') {
    return { title: 'Something went wrong.', detail: error.message };
  }
  return { title: 'Your order was not sent.', detail: networkErrorMessage };
}

customElements.define('cads-menu', MenuScreen);

declare global {
  interface HTMLElementTagNameMap {
    'cads-menu': MenuScreen;
  }
}
