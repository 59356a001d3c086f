/** State-changing requests from the UI: JSON, same origin, with the CSRF token header; errors come back as text. */
export type SendResult<T> = { ok: true; data: T } | { ok: false; status: number; message: string };

export async function send<T = unknown>(method: "POST" | "DELETE", url: string, csrf: string | null, body?: unknown): Promise<SendResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      cache: "no-store",
      credentials: "same-origin",
      headers: { accept: "application/json", "content-type": "application/json", "x-csrf-token": csrf ?? "" },
      body: JSON.stringify(body ?? {}),
    });
  } catch (e) {
    return { ok: false, status: 0, message: e instanceof Error ? e.message : String(e) };
  }
  let parsed: unknown = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const m = parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string" ? parsed.message : res.statusText;
    return { ok: false, status: res.status, message: m };
  }
  return { ok: true, data: parsed as T };
}
