// The hashing primitives that the write path and the audit share. Imports no other library.
export * from './canonical-json';
export * from './hash-chain';
export * from './merkle';
