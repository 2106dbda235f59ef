// The REST API under /v1/, as jmctl uses it. Every call returns the decoded
// JSON body or throws: an APIError for a 4xx/5xx answer (with the server's
// {"error": ...} message), a NetworkError when the JobManager did not answer.

export class APIError extends Error {
  constructor(status, statusText, message) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.statusText = statusText;
  }
  toString() {
    return `${this.status} ${this.statusText}: ${this.message}`;
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super(`the JobManager did not answer (${cause && cause.message ? cause.message : cause})`);
    this.name = 'NetworkError';
  }
}

// A JobManager that checks tokens answers 401: the page then asks for one
// once, keeps it for this browser tab (sessionStorage) and sends it as a
// bearer token. Declining the prompt stops asking until the tab reloads.
const tokenKey = 'sluice-token';
let declined = false;
let asking = null;

function askToken(message) {
  if (declined) return null;
  if (!asking) {
    asking = Promise.resolve().then(() => {
      const t = window.prompt(`${message}\n\nThis JobManager checks tokens. Paste a token (it is kept for this tab only):`);
      asking = null;
      if (!t) {
        declined = true;
        return null;
      }
      sessionStorage.setItem(tokenKey, t.trim());
      return t.trim();
    });
  }
  return asking;
}

async function request(method, path, body, retried = false) {
  const init = { method, cache: 'no-store', headers: { Accept: 'application/json' } };
  const token = sessionStorage.getItem(tokenKey);
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new NetworkError(e);
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : (text.trim().slice(0, 300) || resp.statusText);
    if (resp.status === 401 && !retried) {
      if (token) sessionStorage.removeItem(tokenKey);
      if (await askToken(msg)) return request(method, path, body, true);
    }
    throw new APIError(resp.status, resp.statusText || statusText(resp.status), msg);
  }
  return data;
}

function statusText(code) {
  return { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 503: 'Service Unavailable' }[code] || 'Error';
}

const job = (id, suffix = '') => `/v1/jobs/${encodeURIComponent(id)}${suffix}`;

export const api = {
  health: () => request('GET', '/v1/health'),
  overview: () => request('GET', '/v1/overview'),
  taskManagers: () => request('GET', '/v1/taskmanagers').then((r) => r.taskmanagers || []),
  jobs: () => request('GET', '/v1/jobs').then((r) => r.jobs || []),
  job: (id) => request('GET', job(id)),
  graph: (id) => request('GET', job(id, '/graph')),
  checkpoints: (id) => request('GET', job(id, '/checkpoints')).then((r) => r.checkpoints || []),
  cancel: (id) => request('POST', job(id, '/cancel')),
  triggerSavepoint: (id) => request('POST', job(id, '/savepoints'), {}),
  stopWithSavepoint: (id) => request('POST', job(id, '/stop'), {}),
  savepoint: (id, n) => request('GET', job(id, `/savepoints/${n}`)),
};
