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
  const scanned = scanText(text);
  if (typeof scanned !== 'number') throw invalidBody([scanned]);
  // Every body goes through here: the exact check (a JSON visitor naming each bad field) only
  // runs when the parsed value shows something may be wrong. JSON.parse keeps one of two
  // repeated keys, so a repeat makes the text hold more keys than the value.
  if (scanned === ownKeysOf(value) && !hasSuspectKeyOrValue(value)) return value;
  const problems = structureProblems(text);
  if (problems.length > 0) throw invalidBody(problems);
  return value;
}

/**
 * Counted over the characters of text JSON.parse accepted (so strings are well formed),
 * without recursion: any depth is answered in linear time. Gives the number of object keys
 * in the text (a string followed by a colon), or the depth problem.
 */
function scanText(text: string): number | FieldProblem {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // a backslash escapes the next character
      else if (c === 0x22) {
        inString = false;
        let j = i + 1;
        while (j < text.length && isJsonWhitespace(text.charCodeAt(j))) j += 1;
        if (text.charCodeAt(j) === 0x3a) keys += 1;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > BODY_DEPTH_MAX) return { field: 'body', reason: `is nested deeper than ${BODY_DEPTH_MAX} levels` };
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return keys;
}

const isJsonWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Own keys of every object in a parsed value (no deeper than BODY_DEPTH_MAX, checked before). */
function ownKeysOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + ownKeysOf(v), 0);
  let n = 0;
  for (const key of Object.keys(value)) n += 1 + ownKeysOf((value as Record<string, unknown>)[key]);
  return n;
}

/** A forbidden key or a negative zero anywhere in a parsed value: the exact check names them. */
function hasSuspectKeyOrValue(value: unknown): boolean {
  if (typeof value === 'number') return Object.is(value, -0);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasSuspectKeyOrValue);
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || hasSuspectKeyOrValue((value as Record<string, unknown>)[key])) return true;
  }
  return false;
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
