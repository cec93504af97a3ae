export interface HttpSinkOptions {
  url: string;
  /** Sent as `Authorization: Bearer`; never logged. */
  token?: string;
  timeoutMs?: number;
}

/** Each batch POSTed as NDJSON; any answer but 2xx, or none in time, and the batch is sent again. */
export function httpSink({ url, token, timeoutMs = 5_000 }: HttpSinkOptions) {
  return async (lines: string[]) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: lines.join(''),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the endpoint answered ${res.status}`);
  };
}
