import { type EmbeddedOptions, openEmbedded } from '@cads/service/embedded';
import { bookingService } from './booking-service.ts';
import { carStep, flightStep, hotelStep } from './contracts/steps.ts';
import { suppliersService, type SuppliersOptions } from './suppliers.ts';
import { tripService, type TripServiceOptions } from './trip-service.ts';

export interface TripSystemOptions extends EmbeddedOptions {
  /** Where the trip service and the suppliers' mock listen. Default: free ports. */
  readonly ports?: { readonly trip: number; readonly suppliers: number };
  readonly suppliers?: SuppliersOptions;
  readonly trip?: TripServiceOptions;
}

export type TripSystem = Awaited<ReturnType<typeof startTripSystem>>;

/**
 * Every service of the example in this process, on one PGlite: the suppliers' mock first (the
 * steps call it), then the three booking steps, then the trip service, which takes requests.
 */
export async function startTripSystem(options: TripSystemOptions) {
  const system = await openEmbedded(options);
  try {
    const suppliers = await system.run(suppliersService(options.suppliers), {
      port: options.ports?.suppliers ?? 0,
    });
    for (const step of [flightStep, hotelStep, carStep]) {
      await system.run(bookingService(step, { baseUrl: suppliers.url! }));
    }
    const trip = await system.run(tripService(options.trip), { port: options.ports?.trip ?? 0 });
    return { tripUrl: trip.url!, suppliers, stop: () => system.stop() };
  } catch (error) {
    await system.stop();
    throw error;
  }
}
