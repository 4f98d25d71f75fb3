/** One readiness probe: the component's own answer, or why there is none. */
export interface Probe {
  ready: boolean;
  detail: string;
}

export async function probe(url: string, timeoutMs = 2000): Promise<Probe> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.text()).trim().replace(/\s+/g, ' ').slice(0, 80);
    return { ready: response.ok, detail: `${response.status}${body ? ` ${body}` : ''}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ready: false, detail: cause ?? (err as Error).name };
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
