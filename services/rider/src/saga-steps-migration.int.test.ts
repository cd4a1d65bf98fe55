import { describeSeedTableMigration } from '@cads/food-saga/testing';
import { readRiderStatus } from './index.ts';

describeSeedTableMigration({
  service: 'rider',
  table: 'rider_assignments',
  migrations: new URL('../migrations/', import.meta.url),
  readStatus: readRiderStatus,
});
