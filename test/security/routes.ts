/** `METHOD /path` of every route the app registered (HEAD routes mirror their GET). */
export function registeredRoutes(printed: string): string[] {
  const routes: string[] = [];
  const prefixAt: string[] = [];
  for (const line of printed.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.replace(/\s+$/, ''));
    if (!m) continue;
    const depth = m[1].length / 4;
    const path = (depth > 0 ? prefixAt[depth - 1] : '') + m[2];
    prefixAt[depth] = path;
    prefixAt.length = depth + 1;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) routes.push(`${method} ${path}`);
  }
  return routes.sort();
}
