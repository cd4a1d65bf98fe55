import { LitElement } from 'lit';

/**
 * A Lit element that renders into its own light DOM, so the page's one stylesheet (Web
 * Awesome's theme and native styles plus the app's) applies, and tests find every
 * `data-testid` without piercing shadow roots.
 */
export abstract class LightElement extends LitElement {
  protected override createRenderRoot(): HTMLElement {
    return this;
  }
}

/** Dispatches a bubbling event from `target` with `detail`. */
export function emit<T>(target: EventTarget, type: string, detail: T): void {
  target.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles: true }));
}
