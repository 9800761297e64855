import { IsInt, IsString, Min, getMetadataStorage, registerDecorator, validateSync } from 'class-validator';
// Loads every DTO of the app, as the running service has them.
import '../api.module';
import { cacheValidationMetadata } from './validation-metadata-cache';

describe('the validation metadata cache', () => {
  const storage = getMetadataStorage();
  const uncached = cacheValidationMetadata();

  type DecoratedClass = Parameters<typeof uncached>[0];
  const decoratedClasses = (): DecoratedClass[] =>
    [...(storage as unknown as { validationMetadatas: Map<DecoratedClass, unknown[]> }).validationMetadatas.keys()].filter(
      (target) => typeof target === 'function',
    );

  it('given every DTO class of the app, when its rules are looked up, then the answer is the one class-validator gives, and asked twice, the same array', () => {
    const classes = decoratedClasses();
    expect(classes.length).toBeGreaterThan(20);
    for (const target of classes) {
      for (const [always, strictGroups, groups] of [
        [false, false, undefined],
        [true, false, undefined],
        [false, true, ['g']],
      ] as const) {
        const cached = storage.getTargetValidationMetadatas(target, '', always, strictGroups, groups ? [...groups] : undefined);
        expect(cached).toEqual(uncached(target, '', always, strictGroups, groups ? [...groups] : undefined));
        expect(storage.getTargetValidationMetadatas(target, '', always, strictGroups, groups ? [...groups] : undefined)).toBe(cached);
        expect(storage.groupByPropertyName(cached)).toBe(storage.groupByPropertyName(cached));
      }
    }
  });

  it('given a cached class, when a rule is added to it at run time, then the next validation applies the rule', () => {
    class Late {
      @IsInt()
      points!: number;
      note!: string;
    }
    const late = Object.assign(new Late(), { points: 5, note: 7 as unknown as string });
    expect(validateSync(late)).toEqual([]);
    registerDecorator({
      target: Late,
      propertyName: 'note',
      validator: { validate: (value: unknown) => typeof value === 'string' },
      options: { message: 'note must be text' },
    });
    expect(validateSync(late).map((e) => [e.property, Object.values(e.constraints ?? {})])).toEqual([['note', ['note must be text']]]);
  });

  it('given a class and its subclass, when both are validated, then each keeps its own rules', () => {
    class Base {
      @IsInt()
      @Min(1)
      points!: number;
    }
    class Named extends Base {
      @IsString()
      name!: string;
    }
    expect(validateSync(Object.assign(new Base(), { points: 0 })).map((e) => e.property)).toEqual(['points']);
    expect(validateSync(Object.assign(new Named(), { points: 2, name: 3 })).map((e) => e.property)).toEqual(['name']);
    expect(validateSync(Object.assign(new Named(), { points: 0, name: 'x' })).map((e) => e.property)).toEqual(['points']);
  });

  it('when installed twice, then the second call keeps the first cache', () => {
    const lookup = storage.getTargetValidationMetadatas;
    expect(cacheValidationMetadata()).toBe(uncached);
    expect(storage.getTargetValidationMetadatas).toBe(lookup);
  });
});
