import type { FastifyInstance } from 'fastify';
import { JSONPath, visit } from 'jsonc-parser';
import { FieldProblem } from '@ledger/domain';
import { fieldName, invalidBody } from './validation';

/**
 * Request bodies are parsed here, strictly, before any DTO sees them. JSON.parse alone
 * accepts things a ledger must not: a repeated key (which of two amounts did the till
 * mean?), `__proto__` (an own property that an object copy turns into a prototype),
 * `-0`, and nesting deep enough to exhaust a recursive walk downstream.
 */

/** The deepest request is two levels (`earnRule.unitMinor`); anything far deeper is hostile. */
export const BODY_DEPTH_MAX = 8;
/** Keys that name an object's machinery rather than data. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw invalidBody([{ field: 'body', reason: 'is empty' }]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidBody([{ field: 'body', reason: 'is not valid JSON' }]);
  }
  const tooDeep = depthProblem(text);
  if (tooDeep) throw invalidBody([tooDeep]);
  const problems = structureProblems(text);
  if (problems.length > 0) throw invalidBody(problems);
  return value;
}

/**
 * Counted over the characters of text JSON.parse accepted (so strings are well formed),
 * without recursion: any depth is answered in linear time.
 */
function depthProblem(text: string): FieldProblem | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > BODY_DEPTH_MAX) return { field: 'body', reason: `is nested deeper than ${BODY_DEPTH_MAX} levels` };
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return undefined;
}

function structureProblems(text: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const keysOfOpenObjects: Set<string>[] = [];
  visit(
    text,
    {
      onObjectBegin: () => void keysOfOpenObjects.push(new Set()),
      onObjectEnd: () => void keysOfOpenObjects.pop(),
      onObjectProperty: (property, _offset, _length, _line, _char, pathOf) => {
        const field = fieldOf([...pathOf(), property]);
        const keys = keysOfOpenObjects[keysOfOpenObjects.length - 1];
        if (FORBIDDEN_KEYS.has(property)) problems.push({ field, reason: 'is not an accepted field' });
        else if (keys.has(property)) problems.push({ field, reason: 'appears more than once' });
        keys.add(property);
      },
      onLiteralValue: (value, offset, length, _line, _char, pathOf) => {
        // JSON.parse reads "-0" as negative zero: no amount, count or rate is signed zero.
        if (value === 0 && text.slice(offset, offset + length).startsWith('-')) {
          problems.push({ field: fieldOf(pathOf()), reason: 'must not be negative zero' });
        }
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return problems;
}

const fieldOf = (path: JSONPath): string => (path.length === 0 ? 'body' : path.map(fieldName).join('.'));

/**
 * Bodies are JSON or nothing: fastify's own parsers (JSON, and text/plain, which would hand
 * a string to the DTOs) give way to the strict one; any other media type is a 415.
 */
export function useStrictJsonBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
