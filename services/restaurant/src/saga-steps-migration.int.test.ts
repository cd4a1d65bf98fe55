import { describeSeedTableMigration } from '@cads/food-saga/testing';
import { readRestaurantStatus } from './index.ts';

describeSeedTableMigration({
  service: 'restaurant',
  table: 'restaurant_reservations',
  migrations: new URL('../migrations/', import.meta.url),
  readStatus: readRestaurantStatus,
});
