import type { Session } from '@cads/bff/contracts';
import { html, nothing, type TemplateResult } from 'lit';
import { ApiError, networkErrorMessage, type Api } from './api.ts';
import { icon } from './icons.ts';
import { emit, LightElement } from './light-element.ts';

export type AccountMode = 'sign-in' | 'sign-up';

const copy: Readonly<
  Record<AccountMode, { title: string; lead: string; submit: string; busy: string }>
> = {
  'sign-in': {
    title: 'Sign in',
    lead: 'Your orders and notifications, on any device.',
    submit: 'Sign in',
    busy: 'Signing in…',
  },
  'sign-up': {
    title: 'Create an account',
    lead: 'Keep your orders and notifications, and find them on any device.',
    submit: 'Create account',
    busy: 'Creating…',
  },
};

/**
 * Sign-in and sign-up: email and password (and a name to sign up). The server's reason is shown
 * when it refuses. Emits `signed-in` with the new session once the server has switched it.
 */
export class AccountScreen extends LightElement {
  static override properties = {
    api: { attribute: false },
    mode: { attribute: false },
    /** The session before: a guest is told what happens to what they did as a guest. */
    session: { attribute: false },
    busy: { state: true },
    error: { state: true },
  };

  declare api: Api;
  declare mode: AccountMode;
  declare session: Session | undefined;
  declare private busy: boolean;
  declare private error: string | undefined;

  constructor() {
    super();
    this.busy = false;
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.currentTarget;
    if (!(form instanceof HTMLFormElement)) return;
    const data = new FormData(form);
    const field = (name: string): string => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    };
    const email = field('email').trim();
    const password = field('password');
    this.busy = true;
    this.error = undefined;
    try {
      const session =
        this.mode === 'sign-up'
          ? await this.api.signUp({ email, password, name: field('name').trim() })
          : await this.api.signIn({ email, password });
      emit(this, 'signed-in', session);
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : networkErrorMessage;
      void this.updateComplete.then(() =>
        this.querySelector<HTMLElement>('[data-testid="account-error"]')?.focus(),
      );
    } finally {
      this.busy = false;
    }
  }

  protected override render(): TemplateResult {
    const text = copy[this.mode];
    const signUp = this.mode === 'sign-up';
    return html`
      <section class="page account-page" data-testid=${`${this.mode}-screen`}>
        <wa-card class="account-card">
          <header class="page-head">
            <h1>${text.title}</h1>
            <p class="page-head__lead">${text.lead}</p>
          </header>
          <form
            class="account-form"
            @submit=${(event: SubmitEvent) => void this.submit(event)}
            aria-describedby=${this.error ? 'account-error' : nothing}
          >
            ${
              signUp
                ? html`<label for="account-name">Your name</label>
                    <input
                      id="account-name"
                      name="name"
                      type="text"
                      autocomplete="name"
                      maxlength="40"
                      required
                      placeholder="e.g. Ana"
                      data-testid="account-name"
                    />`
                : nothing
            }
            <label for="account-email">Email</label>
            <input
              id="account-email"
              name="email"
              type="email"
              autocomplete="email"
              maxlength="254"
              required
              placeholder="you@example.org"
              data-testid="account-email"
            />
            <label for="account-password">Password</label>
            <input
              id="account-password"
              name="password"
              type="password"
              autocomplete=${signUp ? 'new-password' : 'current-password'}
              minlength=${signUp ? 8 : 1}
              maxlength="256"
              required
              aria-describedby=${signUp ? 'account-password-hint' : nothing}
              data-testid="account-password"
            />
            ${
              signUp
                ? html`<p id="account-password-hint" class="account-form__hint">
                    At least 8 characters.
                  </p>`
                : nothing
            }
            ${
              this.error
                ? html`<wa-callout
                    id="account-error"
                    variant="danger"
                    role="alert"
                    tabindex="-1"
                    data-testid="account-error"
                  >
                    <span slot="icon">${icon('alert')}</span>${this.error}
                  </wa-callout>`
                : nothing
            }
            <button
              type="submit"
              class="wa-brand account-form__submit"
              data-testid="account-submit"
              ?disabled=${this.busy}
            >
              ${this.busy ? html`<wa-spinner></wa-spinner>${text.busy}` : text.submit}
            </button>
          </form>
          ${this.renderGuestNote()}
          <p class="account-card__switch">
            ${
              signUp
                ? html`Have an account? <a href="#/sign-in" data-testid="to-sign-in">Sign in</a>`
                : html`New here? <a href="#/sign-up" data-testid="to-sign-up">Create an account</a>`
            }
          </p>
        </wa-card>
      </section>
    `;
  }

  /** What becomes of what the browser did as a guest. */
  private renderGuestNote(): TemplateResult | typeof nothing {
    if (!this.session || this.session.email !== undefined) return nothing;
    return html`<p class="account-card__note">
      ${icon('info', 'icon icon--s')}
      <span>
        ${
          this.mode === 'sign-up'
            ? 'The orders you placed on this device so far become your account’s.'
            : 'Orders placed as a guest on this device stay with the guest; ' +
              'create an account instead to keep them.'
        }
      </span>
    </p>`;
  }
}

customElements.define('cads-account', AccountScreen);

declare global {
  interface HTMLElementTagNameMap {
    'cads-account': AccountScreen;
  }
}
