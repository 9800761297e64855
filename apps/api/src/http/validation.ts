import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem } from '@ledger/domain';
import { errorBody } from './error-body';
import { cacheValidationMetadata } from './validation-metadata-cache';

/** A key as `details` names it: plain names as they are, anything else (empty, blank, odd characters) quoted. */
export const fieldName = (key: string | number): string =>
  typeof key === 'number' || /^[A-Za-z0-9_$-]+$/.test(key) ? String(key) : JSON.stringify(key);

/** Flattens class-validator's tree into `{field: 'earnRule.unitMinor', reason}` rows. */
export function fieldProblems(errors: ValidationError[], prefix = ''): FieldProblem[] {
  const rows: FieldProblem[] = [];
  for (const e of errors) {
    const name = fieldName(e.property);
    const field = prefix ? `${prefix}.${name}` : name;
    for (const [constraint, text] of Object.entries(e.constraints ?? {})) {
      rows.push({ field, reason: constraint === 'whitelistValidation' ? 'is not an accepted field' : text.replace(`${e.property} `, '') });
    }
    if (e.children?.length) rows.push(...fieldProblems(e.children, field));
  }
  return rows;
}

export const invalidBody = (details: FieldProblem[]) =>
  new BadRequestException(errorBody(400, 'invalid_input', details.map((d) => `${d.field} ${d.reason}`).join('; '), details));

/**
 * Strict input: unknown fields are refused (not silently dropped), nothing is coerced
 * ("100" is not a number), and a body that is not a JSON object is refused outright.
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      // One reason per field: the first rule it breaks, not every rule downstream of it.
      stopAtFirstError: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => invalidBody(fieldProblems(errors)),
    });
    // Rule lookups answered once per DTO class, not on every request.
    cacheValidationMetadata();
  }

  override async transform(value: unknown, metadata: ArgumentMetadata) {
    if (metadata.type === 'body' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw invalidBody([{ field: 'body', reason: 'must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}
