import type {
  ClientConfig,
  LiveTransport,
  Menu,
  NotificationInbox,
  Session,
} from '@cads/bff/contracts';
import type { SagaDescription } from '@cads/saga/verdict';
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { ApiError, networkErrorMessage, type Api } from './api.ts';
import { emptyCart, type Cart } from './cart.ts';
import { icon } from './icons.ts';
import { LightElement } from './light-element.ts';
import { chooseTransport, type ConnectLive } from './live.ts';
import type { CartChange, OrderPlaced } from './menu-screen.ts';
import { parseRoute, orderHref, type Route } from './route.ts';
import { unseenIds, withSeen, type SeenNotifications } from './seen-notifications.ts';
import type { AccountMode } from './account-screen.ts';
import './account-screen.ts';
import './history-screen.ts';
import './menu-screen.ts';
import './notifications-screen.ts';
import './order-screen.ts';

export interface AppDependencies {
  readonly api: Api;
  readonly seen: SeenNotifications;
  readonly connectLive: Readonly<Record<LiveTransport, ConnectLive>>;
  /** The page's location: its hash is the route, `?transport=` overrides the live transport. */
  readonly location: Location;
}

/** Used until `/api/config` answers, and if it never does. */
const fallbackConfig: ClientConfig = { transport: 'sse', slowNoticeMs: 5_000, heartbeatMs: 15_000 };
const inboxRefreshMs = 15_000;
/** How long after a failed `GET /api/saga` it is asked again (the order screen needs it). */
const sagaRetryMs = 3_000;
const productName = 'CADS Eats';

const titles: Readonly<Record<Route['screen'], string>> = {
  menu: 'Order food',
  order: 'Your order',
  history: 'Your orders',
  notifications: 'Notifications',
  'sign-in': 'Sign in',
  'sign-up': 'Create an account',
  unknown: 'Page not found',
};

/** The whole page: header (account, navigation, notification badge) and the current screen. */
export class CadsApp extends LightElement {
  static override properties = {
    route: { state: true },
    config: { state: true },
    session: { state: true },
    menu: { state: true },
    menuError: { state: true },
    saga: { state: true },
    sagaError: { state: true },
    inbox: { state: true },
    inboxLoaded: { state: true },
    inboxError: { state: true },
    seen: { state: true },
    newIds: { state: true },
    carts: { state: true },
    restaurantId: { state: true },
    accountBusy: { state: true },
    accountError: { state: true },
    identities: { state: true },
  };

  declare dependencies: AppDependencies;
  declare private route: Route;
  declare private config: ClientConfig | undefined;
  declare private session: Session | undefined;
  declare private menu: Menu | undefined;
  declare private menuError: string | undefined;
  /** The map of the saga the system runs, asked once the session is known. */
  declare private saga: SagaDescription | undefined;
  declare private sagaError: string | undefined;
  declare private inbox: NotificationInbox;
  declare private inboxLoaded: boolean;
  declare private inboxError: string | undefined;
  declare private seen: ReadonlySet<string>;
  /** Notifications that were unseen when the inbox was last opened, highlighted there. */
  declare private newIds: ReadonlySet<string>;
  declare private carts: ReadonlyMap<string, Cart>;
  declare private restaurantId: string | undefined;
  /** A sign-out is under way. */
  declare private accountBusy: boolean;
  declare private accountError: string | undefined;
  /**
   * Counts changes of user (sign-in, sign-up, sign-out): each may be another user, whose
   * screens start afresh.
   */
  declare private identities: number;

  private inboxTimer: ReturnType<typeof setInterval> | undefined;
  private sagaTimer: ReturnType<typeof setTimeout> | undefined;
  private routeChanged = false;

  constructor() {
    super();
    this.route = { screen: 'menu' };
    this.inbox = [];
    this.inboxLoaded = false;
    this.seen = new Set();
    this.newIds = new Set();
    this.carts = new Map();
    this.accountBusy = false;
    this.identities = 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const { location, seen } = this.dependencies;
    this.route = parseRoute(location.hash);
    this.seen = seen.load();
    window.addEventListener('hashchange', this.onHashChange);
    document.addEventListener('visibilitychange', this.onVisible);
    this.inboxTimer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refreshInbox();
    }, inboxRefreshMs);
    void this.loadConfig();
    // The session first: a first visit has no cookie, and concurrent requests would each make
    // the BFF mint a different guest, the last answer's cookie winning. The menu (and with it
    // ordering), the inbox and the saga's map wait for the one identity.
    void this.loadSession().then(() =>
      Promise.all([this.loadMenu(), this.refreshInbox(), this.loadSaga()]),
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHashChange);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearInterval(this.inboxTimer);
    clearTimeout(this.sagaTimer);
  }

  private readonly onHashChange = (): void => {
    this.route = parseRoute(this.dependencies.location.hash);
    this.routeChanged = true;
    void this.refreshInbox();
  };

  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') void this.refreshInbox();
  };

  private async loadConfig(): Promise<void> {
    try {
      this.config = await this.dependencies.api.config();
    } catch {
      this.config = fallbackConfig;
    }
  }

  private async loadSession(): Promise<void> {
    try {
      this.session = await this.dependencies.api.session();
      this.accountError = undefined;
    } catch (error) {
      this.accountError = messageOf(error);
    }
  }

  private async loadMenu(): Promise<void> {
    this.menuError = undefined;
    try {
      const menu = await this.dependencies.api.menu();
      this.menu = menu;
      this.restaurantId ??= menu[0]?.id;
    } catch (error) {
      this.menuError = messageOf(error);
    }
  }

  /** Asks for the saga's map until it has it: each failure is shown, and retried. */
  private async loadSaga(): Promise<void> {
    clearTimeout(this.sagaTimer);
    if (this.saga) return;
    try {
      this.saga = await this.dependencies.api.saga();
      this.sagaError = undefined;
    } catch (error) {
      this.sagaError = messageOf(error);
      if (this.isConnected) {
        this.sagaTimer = setTimeout(() => void this.loadSaga(), sagaRetryMs);
      }
    }
  }

  private async refreshInbox(): Promise<void> {
    try {
      this.inbox = await this.dependencies.api.notifications();
      this.inboxError = undefined;
    } catch (error) {
      this.inboxError = messageOf(error);
    } finally {
      this.inboxLoaded = true;
    }
    if (this.route.screen === 'notifications') this.markInboxSeen();
  }

  private markInboxSeen(): void {
    const unseen = unseenIds(this.inbox, this.seen);
    if (unseen.size === 0) return;
    this.newIds = new Set([...this.newIds, ...unseen]);
    this.seen = withSeen(this.seen, this.inbox);
    this.dependencies.seen.save(this.seen);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('route')) {
      document.title = `${titles[this.route.screen]} · ${productName}`;
      if (this.route.screen === 'notifications') this.markInboxSeen();
      else this.newIds = new Set();
    }
  }

  protected override updated(): void {
    if (!this.routeChanged) return;
    this.routeChanged = false;
    window.scrollTo({ top: 0 });
    // Move focus to the new screen, as a page load would, so keyboard and screen reader users
    // start there.
    this.querySelector<HTMLElement>('main')?.focus({ preventScroll: true });
  }

  /** The server switched the browser's session: another user from now on. */
  private switchTo(session: Session): void {
    this.session = session;
    this.identities += 1;
    this.accountError = undefined;
    this.inbox = [];
    this.newIds = new Set();
    void this.refreshInbox();
  }

  private async signOut(everywhere: boolean): Promise<void> {
    const { api } = this.dependencies;
    this.accountBusy = true;
    try {
      this.switchTo(await (everywhere ? api.signOutEverywhere() : api.signOut()));
    } catch (error) {
      this.accountError = messageOf(error);
    } finally {
      this.accountBusy = false;
    }
  }

  protected override render(): TemplateResult {
    return html`
      <a class="skip-link" href="#main" @click=${this.skipToMain}>Skip to content</a>
      ${this.renderHeader()}
      <main id="main" tabindex="-1" class="app-main">
        ${keyed(this.identities, this.renderScreen())}
      </main>
      <footer class="app-footer">
        <p>${productName} · a demo of choreographed sagas · prices in EUR</p>
      </footer>
    `;
  }

  private readonly skipToMain = (event: Event): void => {
    // The hash is the route: focus the content instead of navigating to "#main".
    event.preventDefault();
    this.querySelector<HTMLElement>('main')?.focus();
  };

  private renderHeader(): TemplateResult {
    const unseen = unseenIds(this.inbox, this.seen).size;
    const screen = this.route.screen;
    const current = (active: boolean): 'page' | typeof nothing => (active ? 'page' : nothing);
    return html`
      <header class="app-header">
        <div class="app-header__bar">
          <a class="brand" href="#/" aria-label="${productName} — menu">
            <span class="brand__mark">${icon('logo')}</span>
            <span class="brand__name">${productName}</span>
          </a>
          <nav class="app-nav" aria-label="Main">
            <a href="#/" data-testid="nav-menu" aria-current=${current(screen === 'menu')}
              >${icon('menu')}<span>Menu</span></a
            >
            <a
              href="#/history"
              data-testid="nav-history"
              aria-current=${current(screen === 'history' || screen === 'order')}
              >${icon('orders')}<span>Orders</span></a
            >
            <a
              href="#/notifications"
              data-testid="nav-notifications"
              aria-current=${current(screen === 'notifications')}
              >${icon('bell')}<span>Notifications</span> ${
                unseen > 0
                  ? html`<wa-badge
                        variant="danger"
                        pill
                        data-testid="notifications-badge"
                        aria-hidden="true"
                        >${unseen}</wa-badge
                      ><span class="wa-visually-hidden">, ${unseen} new</span>`
                  : nothing
              }</a
            >
          </nav>
          ${this.renderAccount()}
        </div>
        ${
          this.accountError
            ? html`<p class="app-header__error" role="alert" data-testid="account-problem">
                ${this.accountError}
              </p>`
            : nothing
        }
      </header>
    `;
  }

  private renderAccount(): TemplateResult {
    const session = this.session;
    const email = session?.email;
    const name = session?.name ?? 'Guest';
    return html`
      <div
        class=${email ? 'account account--signed-in' : 'account'}
        data-testid="account"
        data-state=${email ? 'signed-in' : 'guest'}
      >
        <span class="account__avatar" aria-hidden="true">${initials(session?.name)}</span>
        <span class="account__who">
          <span class="account__label">${email ? 'Signed in as' : 'Ordering as guest'}</span>
          <span class="account__name" data-testid="user-name" title=${name}>${name}</span>
          ${
            email
              ? html`<span class="account__email" data-testid="user-email" title=${email}
                  >${email}</span
                >`
              : nothing
          }
        </span>
        ${email ? this.renderSignOut() : this.renderSignIn()}
      </div>
    `;
  }

  private renderSignIn(): TemplateResult {
    const screen = this.route.screen;
    return html`<span class="account__actions">
      <a
        href="#/sign-in"
        class="wa-button wa-outlined wa-brand wa-size-s"
        data-testid="sign-in"
        aria-current=${screen === 'sign-in' ? 'page' : nothing}
        >Sign in</a
      >
      <a
        href="#/sign-up"
        class="wa-button wa-brand wa-size-s hide-narrow"
        data-testid="sign-up"
        aria-current=${screen === 'sign-up' ? 'page' : nothing}
        >Create account</a
      >
    </span>`;
  }

  private renderSignOut(): TemplateResult {
    return html`<span class="account__actions">
      <button
        type="button"
        class="wa-outlined wa-neutral wa-size-s"
        data-testid="sign-out"
        ?disabled=${this.accountBusy}
        @click=${() => void this.signOut(false)}
      >
        ${icon('signOut')}<span>Sign out</span>
      </button>
      <button
        type="button"
        class="wa-plain wa-neutral wa-size-s account__everywhere"
        data-testid="sign-out-everywhere"
        title="Ends every session of this account, on every device"
        ?disabled=${this.accountBusy}
        @click=${() => void this.signOut(true)}
      >
        <span>Sign out everywhere</span>
      </button>
    </span>`;
  }

  private renderScreen(): TemplateResult {
    const route = this.route;
    switch (route.screen) {
      case 'menu':
        return this.renderMenu();
      case 'order':
        return this.renderOrder(route.orderId);
      case 'history':
        return html`<cads-history .api=${this.dependencies.api} .menu=${this.menu}></cads-history>`;
      case 'notifications':
        return html`<cads-notifications
          .notifications=${this.inbox}
          .newIds=${this.newIds}
          .loaded=${this.inboxLoaded}
          .error=${this.inboxError}
          @refresh=${() => void this.refreshInbox()}
        ></cads-notifications>`;
      case 'sign-in':
      case 'sign-up':
        return this.renderAccountScreen(route.screen);
      case 'unknown':
        return html`<section class="empty-state">
          <h1>Page not found</h1>
          <p>There is nothing at this address.</p>
          <a class="wa-button wa-brand" href="#/">Back to the menu</a>
        </section>`;
    }
  }

  private renderAccountScreen(mode: AccountMode): TemplateResult {
    return html`<cads-account
      .api=${this.dependencies.api}
      .mode=${mode}
      .session=${this.session}
      @signed-in=${(event: CustomEvent<Session>) => {
        this.switchTo(event.detail);
        this.dependencies.location.hash = '#/';
      }}
    ></cads-account>`;
  }

  private renderMenu(): TemplateResult {
    const restaurantId = this.restaurantId;
    return html`<cads-menu
      .api=${this.dependencies.api}
      .menu=${this.menu}
      .menuError=${this.menuError}
      .restaurantId=${restaurantId}
      .cart=${(restaurantId && this.carts.get(restaurantId)) || emptyCart}
      @restaurant-select=${(event: CustomEvent<string>) => (this.restaurantId = event.detail)}
      @cart-change=${(event: CustomEvent<CartChange>) => {
        this.carts = new Map(this.carts).set(event.detail.restaurantId, event.detail.cart);
      }}
      @order-placed=${(event: CustomEvent<OrderPlaced>) => {
        const carts = new Map(this.carts);
        carts.delete(event.detail.restaurantId);
        this.carts = carts;
        this.dependencies.location.hash = orderHref(event.detail.orderId);
      }}
      @retry=${() => void this.loadMenu()}
    ></cads-menu>`;
  }

  private renderOrder(orderId: string): TemplateResult {
    const config = this.config;
    if (!config) return html`<div class="loading-block"><wa-spinner></wa-spinner></div>`;
    const transport = chooseTransport(config.transport, this.dependencies.location.search);
    // A new element per order: the old one's connection closes with it.
    return html`${keyed(
      orderId,
      html`<cads-order
        .orderId=${orderId}
        .menu=${this.menu}
        .saga=${this.saga}
        .sagaError=${this.sagaError}
        .transport=${transport}
        .connectLive=${this.dependencies.connectLive[transport]}
        .slowNoticeMs=${config.slowNoticeMs}
        @saga-retry=${() => void this.loadSaga()}
      ></cads-order>`,
    )}`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof ApiError ? error.message : networkErrorMessage;
}

function initials(name: string | undefined): string {
  const letters = (name ?? '')
    .split(/\s+/)
    .map((word) => /[\p{L}\p{N}]/u.exec(word)?.[0] ?? '')
    .join('');
  return [...letters].slice(0, 2).join('').toUpperCase() || 'G';
}

customElements.define('cads-app', CadsApp);

declare global {
  interface HTMLElementTagNameMap {
    'cads-app': CadsApp;
  }
}
