// Small HTTP layer shared by the backend clients: JSON in/out with a timeout, and two error
// kinds the checks tell apart: the backend could not be reached (UnreachableError) and the
// backend answered with an error status (HttpError).

/** Who answers at a base URL: the name messages use, and the CLI flag that points at another address. */
export interface Backend {
  name: string;
  flag: string;
}

export class UnreachableError extends Error {
  readonly backend: string;
  readonly flag: string;
  constructor(
    who: Backend,
    readonly url: string,
    readonly detail: string,
  ) {
    super(`${who.name} not reachable at ${withoutQuery(url)}: ${detail}`);
    this.name = 'UnreachableError';
    this.backend = who.name;
    this.flag = who.flag;
  }
}

function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

export class HttpError extends Error {
  readonly backend: string;
  constructor(
    who: Backend,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${who.name} answered HTTP ${status} for ${pathOf(url)}: ${body.slice(0, 300).trim()}`);
    this.name = 'HttpError';
    this.backend = who.name;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  params?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

/** Statuses that mean "the thing behind this URL is not there or not ready", not "your query is wrong". */
const NOT_READY = new Set([502, 503, 504]);

export function buildUrl(base: string, path: string, params?: RequestOptions['params']): string {
  const url = new URL(base.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/** Fetch `base + path` and parse JSON. Throws UnreachableError or HttpError. */
export async function requestJson<T>(backend: Backend, base: string, path: string, o: RequestOptions = {}): Promise<T> {
  const text = await requestText(backend, base, path, o);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HttpError(backend, buildUrl(base, path, o.params), 200, `not JSON: ${text.slice(0, 200)}`);
  }
}

export async function requestText(backend: Backend, base: string, path: string, o: RequestOptions = {}): Promise<string> {
  const url = buildUrl(base, path, o.params);
  const headers: Record<string, string> = { accept: 'application/json', ...(o.headers ?? {}) };
  let body: string | undefined;
  if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: o.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw new UnreachableError(backend, url, describeFetchError(err));
  }
  const text = await res.text();
  if (NOT_READY.has(res.status)) {
    throw new UnreachableError(backend, url, `HTTP ${res.status} ${text.slice(0, 200).trim()}`);
  }
  if (!res.ok) throw new HttpError(backend, url, res.status, text);
  return text;
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (err.name === 'TimeoutError') return 'timed out';
    if (cause?.code) return cause.code;
    if (cause?.message) return cause.message;
    return err.message;
  }
  return String(err);
}
