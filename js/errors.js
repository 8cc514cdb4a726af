// The package's errors: every one it throws carries a `code` that callers can branch on
// (js/README.md lists them), the core's as well as these. A restore that was aborted rejects
// with a DOMException named AbortError instead, as fetch does.

/** An Error with `code`, as the WebAssembly core throws them. */
export function mirlError(code, message) {
  return Object.assign(new Error(message), { code });
}

/** What an aborted restore rejects with: a DOMException named AbortError, as fetch does. */
export function abortError() {
  return new DOMException('the restore was aborted', 'AbortError');
}

/** Any thrown value as an Error (the core's keep their code). */
export function asError(e) {
  if (e instanceof Error || e instanceof DOMException) return e;
  return mirlError('INTERNAL', String(e));
}

/** An error as a worker posts it: structured clone keeps neither its class nor its code. */
export function errorMessage(e) {
  return { name: e?.name ?? 'Error', message: e?.message ?? String(e), code: e?.code };
}

/** The error a worker posted, rebuilt on this side with its name and code. */
export function errorFrom({ name, message, code }) {
  if (name === 'AbortError') return new DOMException(message, name);
  const e = new Error(message);
  e.name = name;
  if (code !== undefined) e.code = code;
  return e;
}
