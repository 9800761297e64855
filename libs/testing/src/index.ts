export * from './test-app';
export * from './esdb-wire-server';
export * from './decider-spec';
