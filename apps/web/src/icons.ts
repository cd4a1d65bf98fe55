import { svg, type SVGTemplateResult } from 'lit';

/**
 * The app's own line icons, inline so the page never fetches one (Web Awesome's default icon
 * library would load Font Awesome from a CDN). Decorative: every control that shows one also
 * has a text name.
 */
const paths = {
  logo: svg`<path d="M3 11h18a9 9 0 0 1-18 0z" /><path d="M8 3c-1 1 1 2 0 4M12 2c-1 1.5 1 3 0 5M16 3c-1 1 1 2 0 4" />`,
  menu: svg`<path d="M6 3v5a2 2 0 0 0 4 0V3M8 10v11M17 21V3c-2.5 1.5-3.5 4-3.5 7v3H17" />`,
  orders: svg`<path d="M6 3h12v18l-3-2-3 2-3-2-3 2z" /><path d="M9 8h6M9 12h6M9 16h3" />`,
  bell: svg`<path d="M12 3a5 5 0 0 0-5 5v4l-2 3.5h14L17 12V8a5 5 0 0 0-5-5z" /><path d="M10 19a2 2 0 0 0 4 0" />`,
  bag: svg`<path d="M5 8h14l-1.2 12.2a1 1 0 0 1-1 .8H7.2a1 1 0 0 1-1-.8z" /><path d="M9 10V7a3 3 0 0 1 6 0v3" />`,
  store: svg`<path d="M4 10v10h16V10" /><path d="M3 10l2-6h14l2 6c0 1.5-1.3 2.5-3 2.5S15 11.5 15 10c0 1.5-1.3 2.5-3 2.5S9 11.5 9 10c0 1.5-1.3 2.5-3 2.5S3 11.5 3 10z" /><path d="M10 20v-4h4v4" />`,
  rider: svg`<circle cx="6" cy="17" r="3" /><circle cx="18" cy="17" r="3" /><path d="M6 17l3.5-7H15l3 7M9 6h3l1.5 4" />`,
  card: svg`<rect x="3" y="5.5" width="18" height="13" rx="2" /><path d="M3 10h18M7 15h4" />`,
  check: svg`<path d="M5 12.5l4.5 4.5L19 7" />`,
  cross: svg`<path d="M6.5 6.5l11 11M17.5 6.5l-11 11" />`,
  undo: svg`<path d="M9 6L4.5 10.5 9 15" /><path d="M4.5 10.5H14a5 5 0 0 1 0 10h-3" />`,
  clock: svg`<circle cx="12" cy="12" r="9" /><path d="M12 7v5l3.5 2" />`,
  alert: svg`<circle cx="12" cy="12" r="9" /><path d="M12 7.5v5.5M12 16.5v.01" />`,
  info: svg`<circle cx="12" cy="12" r="9" /><path d="M12 11v5.5M12 7.5v.01" />`,
  arrowLeft: svg`<path d="M19 12H5M11 6l-6 6 6 6" />`,
  chevronRight: svg`<path d="M9 6l6 6-6 6" />`,
  user: svg`<circle cx="12" cy="8" r="4" /><path d="M4 21a8 8 0 0 1 16 0" />`,
  signOut: svg`<path d="M10 4H5v16h5M15 8l4 4-4 4M19 12H9" />`,
  phone: svg`<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a1 1 0 0 1-1 1A16 16 0 0 1 4 5a1 1 0 0 1 1-1z" />`,
  pin: svg`<path d="M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z" /><circle cx="12" cy="9.5" r="2.5" />`,
  receipt: svg`<path d="M6 3h12v18l-3-2-3 2-3-2-3 2z" /><path d="M9 8h6M9 12h6" />`,
  refresh: svg`<path d="M20 11a8 8 0 0 0-14.5-4.5L4 8M4 4v4h4M4 13a8 8 0 0 0 14.5 4.5L20 16M20 20v-4h-4" />`,
};

export type IconName = keyof typeof paths;

export function icon(name: IconName, className = 'icon'): SVGTemplateResult {
  return svg`<svg class=${className} viewBox="0 0 24 24" fill="none" stroke="currentColor"
    stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"
    focusable="false">${paths[name]}</svg>`;
}
