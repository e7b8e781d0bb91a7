// The operator API client: JSON over fetch with the session cookie, and the
// CSRF token (kept in memory only) on every state-changing request.

export class APIError extends Error {
  constructor(status, message, body, isJSON) {
    super(message);
    this.status = status;
    this.body = body;
    // isJSON tells an answer of the API (a JSON error) from a route the
    // server does not have at all (the mux's plain-text 404).
    this.isJSON = isJSON;
  }

  // missingRoute says the server has no such endpoint (an older server).
  get missingRoute() {
    return (this.status === 404 || this.status === 405) && !this.isJSON;
  }
}

export function createAPI({ onUnauthorized }) {
  let csrf = '';

  async function request(method, path, body) {
    const headers = { Accept: 'application/json' };
    // FormData (a reply with files) sets its own multipart Content-Type; a
    // file (a CSV import) goes as it is.
    const form = body instanceof FormData;
    const file = body instanceof Blob;
    if (file) headers['Content-Type'] = body.type || 'text/csv';
    else if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
    let resp;
    try {
      resp = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined || form || file ? body : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (_) {
      throw new APIError(0, 'network', null, false);
    }
    const ctype = resp.headers.get('Content-Type') || '';
    const isJSON = ctype.includes('application/json');
    let data = null;
    if (isJSON && resp.status !== 204) {
      try { data = await resp.json(); } catch (_) { data = null; }
    }
    if (!resp.ok) {
      const msg = (data && typeof data.error === 'string' && data.error) || resp.statusText || String(resp.status);
      const err = new APIError(resp.status, msg, data, isJSON);
      // The session endpoints answer 401 as part of signing in; anywhere
      // else a 401 means the session is gone.
      if (resp.status === 401 && !path.startsWith('/session')) onUnauthorized();
      throw err;
    }
    return data;
  }

  return {
    setCSRF(token) { csrf = typeof token === 'string' ? token : ''; },
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body === undefined ? {} : body),
    patch: (path, body) => request('PATCH', path, body),
    del: (path) => request('DELETE', path),
  };
}

// query builds "?a=1&b=2" from the non-empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
