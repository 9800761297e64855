export * from './port';
export * from './memory/memory-event-store';
export * from './live-feed';
