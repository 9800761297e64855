// hash-chain first: libs/application imports it from here, and the modules below import
// parts of libs/application back (scanLog, calculatePeriodStatement).
export * from './hash-chain';
export * from './merkle';
export * from './divergence';
export * from './chain-check';
export * from './audit-fold';
export * from './as-of';
export * from './replay';
export * from './period-merkle';
export * from './read-model-check';
export * from './verify';
export * from './prove';
export * from './export-import';
