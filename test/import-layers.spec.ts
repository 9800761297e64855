import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The lint's import rules (eslint.config.mjs), each shown to fire: files that are not on
 * disk are linted through ESLint's API with the project's own config, at paths inside the
 * libraries, and each wrong import must be reported by the rule that forbids it.
 * ESLint loads its config as an ES module, which jest's module system cannot, so the
 * linting runs in a child process.
 */
interface Case {
  name: string;
  filePath: string;
  code: string;
}

interface Finding {
  name: string;
  rules: string[];
}

const ROOT = join(__dirname, '..');

function lint(cases: Case[]): Map<string, string[]> {
  const script = `
    import { ESLint } from 'eslint';
    const cases = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const c of cases) {
      const [result] = await eslint.lintText(c.code, { filePath: c.filePath });
      out.push({ name: c.name, rules: result.messages.map((m) => m.ruleId ?? 'fatal: ' + m.message) });
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(cases)], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return new Map((JSON.parse(stdout) as Finding[]).map((f) => [f.name, f.rules]));
}

const LAYER = 'import-x/no-restricted-paths';
const CYCLE = 'import-x/no-cycle';

// Each case imports one thing and uses it, so nothing but the import can be reported.
const importing = (name: string, filePath: string, from: string): Case => ({
  name,
  filePath,
  code: `import * as imported from '${from}';\nexport const used = imported;\n`,
});

const wrong: Case[] = [
  importing('domain imports integrity', 'libs/domain/src/shared/layer-probe.ts', '@ledger/integrity'),
  importing('domain imports the event store by a relative path', 'libs/domain/src/layer-probe.ts', '../../event-store/src/port'),
  importing('integrity imports domain', 'libs/integrity/src/layer-probe.ts', '@ledger/domain'),
  importing('event store imports settlement', 'libs/event-store/src/layer-probe.ts', '@ledger/settlement'),
  importing('event store imports application', 'libs/event-store/src/sqlite/layer-probe.ts', '@ledger/application'),
  importing('application imports audit', 'libs/application/src/settlement/layer-probe.ts', '@ledger/audit'),
  importing('application imports a file of audit', 'libs/application/src/layer-probe.ts', '@ledger/audit/verify'),
  importing('application imports projections', 'libs/application/src/layer-probe.ts', '@ledger/projections'),
  importing('settlement imports application', 'libs/settlement/src/layer-probe.ts', '@ledger/application'),
  importing('audit imports application', 'libs/audit/src/layer-probe.ts', '@ledger/application'),
  importing('projections imports application outside its test support', 'libs/projections/src/layer-probe.ts', '@ledger/application'),
  importing('a library imports test support', 'libs/audit/src/layer-probe.ts', '@ledger/testing'),
  importing('a library imports an app', 'libs/application/src/layer-probe.ts', '@ledger/api/create-app'),
  importing('an app imports test support', 'apps/api/src/layer-probe.ts', '@ledger/testing'),
];

const allowed: Case[] = [
  importing('event store imports integrity', 'libs/event-store/src/layer-probe.ts', '@ledger/integrity'),
  importing('settlement imports the event store and integrity', 'libs/settlement/src/layer-probe.ts', '@ledger/event-store'),
  importing('application imports settlement', 'libs/application/src/layer-probe.ts', '@ledger/settlement'),
  importing('audit imports projections', 'libs/audit/src/layer-probe.ts', '@ledger/projections'),
  importing('a spec imports test support', 'libs/domain/src/layer-probe.spec.ts', '@ledger/testing/decider-spec'),
  importing(
    'projections test support writes through the application',
    'libs/projections/src/testing/layer-probe.ts',
    '@ledger/application',
  ),
];

// A cycle: linted in the place of member.state.ts, which member.decide.ts imports.
const cycle: Case = importing('a module imports one that imports it', 'libs/domain/src/member/member.state.ts', './member.decide');

describe('import layers (npm run lint)', () => {
  let findings: Map<string, string[]>;

  beforeAll(() => {
    findings = lint([...wrong, ...allowed, cycle]);
  }, 180_000);

  it.each(wrong.map((c) => [c.name, c]))('reports %s', (name) => {
    expect(findings.get(name)).toEqual([LAYER]);
  });

  it.each(allowed.map((c) => [c.name, c]))('allows %s', (name) => {
    expect(findings.get(name)).toEqual([]);
  });

  it('reports a cycle between modules', () => {
    expect(findings.get(cycle.name)).toContain(CYCLE);
  });
});
