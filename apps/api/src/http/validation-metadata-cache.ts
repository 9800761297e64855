import { getMetadataStorage } from 'class-validator';

/**
 * class-validator looks up a DTO's rules on every validation by filtering every rule it holds
 * and testing the DTO against every decorated class of the app for inheritance (49 classes
 * here): about 3% of the request thread under the accrual load (bench/PROFILE.md). A class's
 * rules are fixed once its module has loaded, so the answer is kept per class and options,
 * and the whole cache is dropped whenever a rule is added (a class loaded later, or a
 * decorator registered at run time). The answers are shared arrays; class-validator only
 * reads them (filter, length, property lookups), which the spec checks against its own answers.
 */
type Storage = ReturnType<typeof getMetadataStorage>;
type Lookup = Storage['getTargetValidationMetadatas'];
type Grouping = Storage['groupByPropertyName'];
type Grouped = ReturnType<Grouping>;
type ValidationMetadata = ReturnType<Lookup>[number];

const CACHED = Symbol('ledger.validationMetadataCache');

interface CachedStorage {
  [CACHED]?: { uncached: Lookup };
}

/** Installs the cache on class-validator's one storage (idempotent); returns the uncached lookup, for tests. */
export function cacheValidationMetadata(storage: Storage = getMetadataStorage()): Lookup {
  const marked = storage as Storage & CachedStorage;
  const installed = marked[CACHED];
  if (installed) return installed.uncached;

  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  let answers = new WeakMap<object, Map<string, ValidationMetadata[]>>();
  let groupings = new WeakMap<ValidationMetadata[], Grouped>();

  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    // A plain object's constructor may be missing or not an object: nothing to key on.
    if (typeof target !== 'function') return lookup(target, schema, always, strictGroups, groups);
    const key = JSON.stringify([schema ?? null, always, strictGroups, groups ?? null]);
    let byOptions = answers.get(target);
    if (!byOptions) answers.set(target, (byOptions = new Map()));
    let answer = byOptions.get(key);
    if (!answer) byOptions.set(key, (answer = lookup(target, schema, always, strictGroups, groups)));
    return answer;
  };
  storage.groupByPropertyName = (metadata) => {
    let grouped = groupings.get(metadata);
    if (!grouped) groupings.set(metadata, (grouped = group(metadata)));
    return grouped;
  };
  storage.addValidationMetadata = (metadata) => {
    answers = new WeakMap();
    groupings = new WeakMap();
    add(metadata);
  };
  marked[CACHED] = { uncached: lookup };
  return lookup;
}
