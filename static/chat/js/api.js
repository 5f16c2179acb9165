// HTTP to the tenantchat API from a browser page: with the session cookie (and the CSRF
// header on every unsafe method) on tenantchat's own origin, or with a bearer token from
// a widget sign-in on a host page of another origin, where our cookies are not sent.
// JSON in and out, failures as ApiError (status 0 = the network). Knows nothing of the
// widget, so other pages (an admin console) can use it.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || (status === 0 ? 'network error' : `HTTP ${status}`));
    this.name = 'ApiError';
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : 'error');
    this.body = body;
  }
}

/** The CSRF token from its cookie; over https the cookie carries the __Host- prefix. */
export function csrfToken(cookies = document.cookie) {
  const m = cookies.match(/(?:^|;\s*)(?:__Host-)?csrftoken=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

function parseJson(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch (_) { return null; }
}

const UNSAFE = (method) => method !== 'GET' && method !== 'HEAD';

/**
 * @param {object} options
 * @param {string} [options.base]  prefix of every path ('' = same origin)
 * @param {string} [options.token]  a bearer token (widget sign-in); then no cookies are sent
 * @param {(err: ApiError) => void} [options.onUnauthorized]  called on every 401
 */
export function createApi({ base = '', token = '', onUnauthorized = () => {} } = {}) {
  const prefix = String(base).replace(/\/+$/, '');
  const url = (path) => prefix + path;

  /** The bearer token, or on our own origin the CSRF header of unsafe methods. */
  function credentialHeaders(method) {
    if (token) return { Authorization: `Bearer ${token}` };
    return UNSAFE(method) ? { 'X-CSRFToken': csrfToken() } : {};
  }

  function fail(status, body) {
    const err = new ApiError(status, body);
    if (status === 401) onUnauthorized(err);
    return err;
  }

  async function request(method, path, body) {
    const headers = { Accept: 'application/json', ...credentialHeaders(method) };
    const init = { method, headers, credentials: token ? 'omit' : 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url(path), init);
    } catch (_) {
      throw new ApiError(0, null);
    }
    const data = parseJson(await res.text().catch(() => ''));
    if (!res.ok) throw fail(res.status, data);
    return data;
  }

  /** A multipart POST reporting upload progress (0–100), which fetch cannot do. */
  function upload(path, formData, onProgress = () => {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url(path));
      for (const [name, value] of Object.entries(credentialHeaders('POST'))) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
      });
      xhr.addEventListener('load', () => {
        const data = parseJson(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(fail(xhr.status, data));
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, null)));
      xhr.addEventListener('abort', () => reject(new ApiError(0, null)));
      xhr.send(formData);
    });
  }

  /** An http(s) URL for a link or image the server gave us; anything else becomes '#'. */
  function safeUrl(u) {
    if (!u) return '#';
    try {
      const abs = new URL(String(u).startsWith('/') ? url(u) : u, location.href);
      return abs.protocol === 'http:' || abs.protocol === 'https:' ? abs.href : '#';
    } catch (_) { return '#'; }
  }

  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body = {}) => request('POST', path, body),
    patch: (path, body = {}) => request('PATCH', path, body),
    upload,
    url,
    safeUrl,
  };
}

/**
 * Signs in with the host app's identity: `signed` is what the host's server made
 * ({tenant, external_id, email, name, ts, signature}). Resolves to {user, token}.
 * No cookies go either way: the token is the session.
 */
export async function signInWithHost(base, signed) {
  const prefix = String(base).replace(/\/+$/, '');
  let res;
  try {
    res = await fetch(`${prefix}/api/auth/widget/`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(signed),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (_) {
    throw new ApiError(0, null);
  }
  const data = parseJson(await res.text().catch(() => ''));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
