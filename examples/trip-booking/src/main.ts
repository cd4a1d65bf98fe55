import { pino } from 'pino';
import { startTripSystem } from './system.ts';

const port = Number(process.env.TRIP_PORT ?? 4000);
const system = await startTripSystem({
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
  // A directory keeps trips, bookings and armed deadlines across restarts; memory by default.
  ...(process.env.TRIP_DATA_DIR ? { dataDir: process.env.TRIP_DATA_DIR } : {}),
  ports: { trip: port, suppliers: port === 0 ? 0 : port + 1 },
});
process.stdout.write(
  `Trips: ${system.tripUrl}/api/trips · the suppliers' records: ${system.suppliers.url}/api/effects/<tripId>\n`,
);

const stop = () => {
  system.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
