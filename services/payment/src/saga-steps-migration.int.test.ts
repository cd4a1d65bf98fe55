import { describeSeedTableMigration } from '@cads/food-saga/testing';
import { readPaymentStatus } from './index.ts';

describeSeedTableMigration({
  service: 'payment',
  table: 'payment_charges',
  migrations: new URL('../migrations/', import.meta.url),
  readStatus: readPaymentStatus,
});
