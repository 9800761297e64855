export * from './read-store';
export * from './read-models';
export * from './read-model-writer';
export * from './read-model-reader';
export * from './projection-runner';
export * from './rebuild';
