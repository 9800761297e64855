export * from './port';
export * from './memory/memory-event-store';
export * from './live-feed';
export * from './esdb/esdb-event-store';
export * from './open-event-store';
export * from './sqlite/sqlite-event-store';
export * from './head-position';
export * from './sqlite/sqlite-backup';
