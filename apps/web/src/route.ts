/** The screens, addressed by the URL's hash so a reload (or a shared link) lands on the same one. */
export type Route =
  | { readonly screen: 'menu' }
  | { readonly screen: 'order'; readonly orderId: string }
  | { readonly screen: 'history' }
  | { readonly screen: 'notifications' }
  | { readonly screen: 'sign-in' }
  | { readonly screen: 'sign-up' }
  | { readonly screen: 'unknown' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return { screen: 'menu' };
  if (path === '/history') return { screen: 'history' };
  if (path === '/notifications') return { screen: 'notifications' };
  if (path === '/sign-in') return { screen: 'sign-in' };
  if (path === '/sign-up') return { screen: 'sign-up' };
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (order?.[1]) {
    try {
      return { screen: 'order', orderId: decodeURIComponent(order[1]) };
    } catch {
      return { screen: 'unknown' };
    }
  }
  return { screen: 'unknown' };
}

export function orderHref(orderId: string): string {
  return `#/orders/${encodeURIComponent(orderId)}`;
}
