import type { HttpApp } from '@cads/http';
import { menu } from '../contracts/menu.ts';
import { MenuSchema } from './schemas.ts';

/** `GET /api/menu`: the catalogue, public (the web app shows it). */
export function registerMenuRoute(app: HttpApp): void {
  app.get(
    '/api/menu',
    {
      schema: {
        tags: ['menu'],
        summary: 'The restaurants, their dishes and prices',
        operationId: 'getMenu',
        security: [],
        response: { 200: MenuSchema },
      },
    },
    () => menu.map((restaurant) => ({ ...restaurant, dishes: [...restaurant.dishes] })),
  );
}
