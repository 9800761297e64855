/**
 * The console's only way to the ledger: the public HTTP API with the key the user pasted.
 * The key lives in this module's memory, and in sessionStorage only if the user asked to
 * keep it for this tab; it travels in the Authorization header, never in a URL or a cookie.
 */
const STORAGE_KEY = 'ledger-console-key';

let apiKey: string | null = sessionStorage.getItem(STORAGE_KEY);

export const hasKey = () => apiKey !== null;

export function setKey(key: string, rememberInTab: boolean): void {
  apiKey = key;
  if (rememberInTab) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}

let onRevoked: (() => void) | null = null;

/** Called when the API refuses the signed-in key (revoked meanwhile, or unknown): the app signs out. */
export function whenKeyRefused(callback: (() => void) | null): void {
  onRevoked = callback;
}

export function forgetKey(): void {
  apiKey = null;
  sessionStorage.removeItem(STORAGE_KEY);
}

/** An answer other than 2xx, or no answer, said in words a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function describe(status: number, body: { message?: string; code?: string; details?: { field: string; reason: string }[] } | null): string {
  const said = body?.details?.length ? body.details.map((d) => `${d.field} ${d.reason}`).join('; ') : body?.message;
  switch (status) {
    case 401:
      return 'This API key is unknown or has been revoked. Sign in again with a valid key.';
    case 403:
      return `Your key's role may not do this${said ? ` (${said})` : ''}.`;
    case 404:
      return said ? `Not found: ${said}.` : 'Not found.';
    case 503:
      return `The ledger is busy or catching up; try again in a moment${said ? ` (${said})` : ''}.`;
    default:
      return said ? `The ledger answered ${status}: ${said}` : `The ledger answered ${status}.`;
  }
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  if (apiKey === null) throw new ApiError(401, 'unauthenticated', 'Sign in with an API key first.');
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The ledger API cannot be reached. Is the service running?');
  }
  if (!res.ok) {
    const parsed = await res.json().catch(() => null);
    if (res.status === 401) onRevoked?.();
    throw new ApiError(res.status, parsed?.code ?? 'error', describe(res.status, parsed));
  }
  return res;
}

export const getJson = async <T>(path: string): Promise<T> => (await send('GET', path)).json() as Promise<T>;
export const postJson = async <T>(path: string, body: unknown): Promise<T> => (await send('POST', path, body)).json() as Promise<T>;

/** Fetches a file with the key in the header and hands it to the browser as a download. */
export async function download(path: string, fileName: string): Promise<void> {
  const blob = await (await send('GET', path)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
