import { foodSagaDeclaration } from '@cads/food-saga';
import { defineSaga, defineStep } from '@cads/saga';
import Type from 'typebox';
import { Id } from '../contracts/events.ts';

/**
 * A fixture: the food saga composed with one more step, a kitchen that may refuse to cook,
 * between the restaurant and the rider. No production code knows it; the order service and
 * the BFF must run it from its map alone.
 */
const Order = { orderId: Id, userId: Id };

export const KitchenAccepted = Type.Object({
  ...Order,
  priceCents: Type.Integer({ minimum: 0 }),
  readyInMinutes: Type.Integer({ minimum: 1 }),
  status: Type.Literal(0),
});
export const KitchenRefused = Type.Object({
  ...Order,
  kitchenRefusalReason: Type.String({ minLength: 1 }),
  status: Type.Literal(4),
});
export const KitchenReleased = Type.Object({ ...Order, status: Type.Literal(5) });

export const kitchenStep = defineStep({
  name: 'kitchen',
  label: 'Kitchen',
  description: 'The kitchen agrees to cook the order.',
  input: Type.Object({ ...Order, priceCents: Type.Integer({ minimum: 0 }) }),
  success: { type: 'kitchen_accepted', schema: KitchenAccepted },
  failure: {
    type: 'kitchen_refused',
    schema: KitchenRefused,
    reasonField: 'kitchenRefusalReason',
  },
  compensation: { type: 'kitchen_released', schema: KitchenReleased },
  shows: [{ field: 'readyInMinutes', label: 'Ready in (min)' }],
});

const [restaurant, ...afterRestaurant] = foodSagaDeclaration.steps;

/** Restaurant → kitchen → rider → payment. */
export const kitchenSaga = defineSaga({
  ...foodSagaDeclaration,
  name: 'food-delivery-with-kitchen',
  steps: [restaurant, kitchenStep, ...afterRestaurant],
});

/** Payloads of the kitchen's events (beyond orderId and userId), by type. */
export const kitchenData: Readonly<Record<string, Record<string, unknown>>> = {
  kitchen_accepted: { priceCents: 5230, readyInMinutes: 20, status: 0 },
  kitchen_refused: { kitchenRefusalReason: 'oven broken', status: 4 },
  kitchen_released: { status: 5 },
};
