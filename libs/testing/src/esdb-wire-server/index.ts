export * from './esdb-log';
export * from './esdb-wire-server';
