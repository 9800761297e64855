import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/**
 * The README and the documents must be readable from a fresh clone: every relative link
 * resolves to a file or folder inside the repository, and an anchor to a heading of the
 * linked markdown file.
 */
const ROOT = resolve(__dirname, '..');

interface Link {
  file: string;
  line: number;
  target: string;
}

/** Inline `[text](target)` and reference `[label]: target` links, outside fenced code. */
export function linksOf(markdown: string, file: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    if (fenced) return;
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line: i + 1, target: m[1] });
    const reference = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(text);
    if (reference) links.push({ file, line: i + 1, target: reference[1] });
  });
  return links;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
export const headingAnchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const text of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (heading) anchors.add(headingAnchor(heading[1].replace(/`/g, '')));
  }
  return anchors;
}

/** Why a link does not resolve inside `root`, or undefined when it does. */
export function problemOf(link: Link, root: string): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [pathPart, anchor] = target.split('#', 2);
  const path = pathPart === '' ? link.file : resolve(dirname(link.file), decodeURIComponent(pathPart));
  if (isAbsolute(pathPart)) return 'is an absolute path';
  const inside = relative(root, path);
  if (inside.startsWith('..') || isAbsolute(inside)) return 'leaves the repository';
  if (!existsSync(path)) return 'names no file';
  if (anchor !== undefined && anchor !== '' && path.endsWith('.md')) {
    if (!anchorsOf(readFileSync(path, 'utf8')).has(anchor)) return `has no heading #${anchor}`;
  }
  return undefined;
}

function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md')];
  const docs = join(ROOT, 'docs');
  if (existsSync(docs))
    files.push(
      ...readdirSync(docs)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(docs, f)),
    );
  // Every README below the libraries, apps and tooling (e.g. libs/settlement, the wire server).
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === 'README.md') files.push(path);
    }
  };
  for (const top of ['libs', 'apps', 'docker', 'bench']) if (existsSync(join(ROOT, top))) walk(join(ROOT, top));
  return files;
}

describe('links in the documentation', () => {
  const files = markdownFiles();

  it('covers the README, docs/ and the library READMEs', () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/domain.md', 'libs/settlement/README.md']));
  });

  it('resolve to files inside the repository', () => {
    const links = files.flatMap((f) => linksOf(readFileSync(f, 'utf8'), f));
    expect(links.length).toBeGreaterThan(10);
    const broken = links.flatMap((l) => {
      const problem = problemOf(l, ROOT);
      return problem === undefined ? [] : [`${relative(ROOT, l.file)}:${l.line} ${l.target} ${problem}`];
    });
    expect(broken).toEqual([]);
  });

  it('reports a link that leaves the repository, names no file, or misses its heading', () => {
    const file = join(ROOT, 'README.md');
    const sample = [
      'See [the design](../shared/DESIGN.md) and [style][s], [ok](docs/domain.md#idempotency).',
      '[s]: ../shared/STYLE.md',
      '[gone](docs/nothing-here.md) [bad anchor](docs/domain.md#no-such-heading) [web](https://example.org/x)',
      '```',
      '[in code](../ignored.md)',
      '```',
    ].join('\n');
    const found = linksOf(sample, file).map((l) => [l.target, problemOf(l, ROOT)]);
    expect(found).toEqual([
      ['../shared/DESIGN.md', 'leaves the repository'],
      ['docs/domain.md#idempotency', undefined],
      ['../shared/STYLE.md', 'leaves the repository'],
      ['docs/nothing-here.md', 'names no file'],
      ['docs/domain.md#no-such-heading', 'has no heading #no-such-heading'],
      ['https://example.org/x', undefined],
    ]);
  });

  it('makes anchors the way GitHub does', () => {
    expect(headingAnchor('Settlement: from the log to a statement')).toBe('settlement-from-the-log-to-a-statement');
    expect(headingAnchor('A command: from HTTP to the store')).toBe('a-command-from-http-to-the-store');
    expect(headingAnchor('Redemption: FIFO lots')).toBe('redemption-fifo-lots');
  });
});
