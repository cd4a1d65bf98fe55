/**
 * The composition root: styles, the Web Awesome components the app uses (each imported
 * explicitly, so the bundle holds exactly those), and the app's dependencies.
 */
import '@awesome.me/webawesome/dist/styles/themes/default.css';
import '@awesome.me/webawesome/dist/styles/color/variants/brand.css';
import '@awesome.me/webawesome/dist/styles/native.css';
import '@awesome.me/webawesome/dist/styles/utilities/visually-hidden.css';
import './styles/app.css';
import '@awesome.me/webawesome/dist/components/badge/badge.js';
import '@awesome.me/webawesome/dist/components/callout/callout.js';
import '@awesome.me/webawesome/dist/components/card/card.js';
import '@awesome.me/webawesome/dist/components/skeleton/skeleton.js';
import '@awesome.me/webawesome/dist/components/spinner/spinner.js';
import '@awesome.me/webawesome/dist/components/step/step.js';
import '@awesome.me/webawesome/dist/components/stepper/stepper.js';
import '@awesome.me/webawesome/dist/components/tag/tag.js';
import { registerIconLibrary } from '@awesome.me/webawesome/dist/components/icon/library.js';
import systemIcons from '@awesome.me/webawesome/dist/components/icon/library.system.js';
import type { LiveTransport } from '@cads/bff/contracts';
import { createApi } from './api.ts';
import { CadsApp } from './app-shell.ts';
import type { ConnectLive } from './live.ts';
import { connectSse } from './live-sse.ts';
import { connectWs } from './live-ws.ts';
import { createSeenNotifications } from './seen-notifications.ts';

// Web Awesome's default icon library loads Font Awesome from a CDN; the page must never leave
// its origin, so any icon a component draws comes from the bundled system set instead.
registerIconLibrary('default', systemIcons);

const api = createApi();

const connectLive: Record<LiveTransport, ConnectLive> = {
  sse: (orderId, handlers) =>
    connectSse(orderId, handlers, {
      EventSource,
      orderExists: async (id) => {
        try {
          return (await api.order(id)) !== undefined;
        } catch {
          return undefined;
        }
      },
    }),
  ws: (orderId, handlers) => connectWs(orderId, handlers, { WebSocket, location }),
};

const app = new CadsApp();
app.dependencies = {
  api,
  seen: createSeenNotifications(safeLocalStorage()),
  connectLive,
  location,
};
document.getElementById('app')?.replaceChildren(app);

function safeLocalStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
