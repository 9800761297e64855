import { readFileSync, writeFileSync } from 'node:fs';
import { IDENTITIES, IDENTITY_NOTES, Identity, MatrixRow, ROLE_MATRIX } from './role-matrix';

/** The README's security table sits between these markers and is written only by `npm run docs:security`. */
export const SECTION_BEGIN =
  '<!-- role-matrix:begin — generated from test/security/role-matrix.ts by `npm run docs:security`; do not edit -->';
export const SECTION_END = '<!-- role-matrix:end -->';

const COLUMN_TITLES: Record<Identity, string> = {
  anonymous: 'no key',
  malformedKey: 'malformed key',
  unknownKey: 'unknown key',
  revokedKey: 'revoked key',
  partnerA: 'partner A',
  partnerB: 'partner B on A’s',
  finance: 'finance',
  auditor: 'auditor',
  admin: 'admin',
};

/** The generated part: one row per route, one column per kind of caller, the exact status in each cell. */
export function renderRoleMatrix(rows: readonly MatrixRow[] = ROLE_MATRIX): string {
  const header = ['route', 'what', ...IDENTITIES.map((i) => COLUMN_TITLES[i])];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| \`${r.method} ${r.path}\` | ${r.what} | ${IDENTITIES.map((i) => String(r.expect[i])).join(' | ')} |`),
    '',
    `${rows.length} routes × ${IDENTITIES.length} callers = ${rows.length * IDENTITIES.length} cells, each checked by \`test/role-matrix.e2e-spec.ts\`. The callers:`,
    '',
    ...IDENTITIES.map((i) => `- **${COLUMN_TITLES[i]}**: ${IDENTITY_NOTES[i]}`),
  ];
  return lines.join('\n');
}

/** The text between the markers, or undefined when the README has no such section. */
export function readmeRoleMatrix(readme: string): string | undefined {
  const begin = readme.indexOf(SECTION_BEGIN);
  const end = readme.indexOf(SECTION_END);
  if (begin < 0 || end < begin) return undefined;
  return readme.slice(begin + SECTION_BEGIN.length, end).trim();
}

/** The README with its section replaced by the generated one. */
export function withRoleMatrix(readme: string, rows: readonly MatrixRow[] = ROLE_MATRIX): string {
  const begin = readme.indexOf(SECTION_BEGIN);
  const end = readme.indexOf(SECTION_END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${SECTION_BEGIN} … ${SECTION_END} section`);
  return `${readme.slice(0, begin + SECTION_BEGIN.length)}\n${renderRoleMatrix(rows)}\n${readme.slice(end)}`;
}

/** `npm run docs:security`: rewrites the section in place. */
export function writeRoleMatrix(readmePath: string): void {
  const before = readFileSync(readmePath, 'utf8');
  const after = withRoleMatrix(before);
  writeFileSync(readmePath, after);
  process.stdout.write(`${readmePath}: role matrix ${after === before ? 'already up to date' : 'rewritten'}\n`);
}
