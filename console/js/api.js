// The HTTP API, called with the signed-in person's token (kept in memory and sessionStorage, never in URLs).

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export class Api {
  constructor(base, auth) {
    this.base = base.replace(/\/$/, "");
    this.auth = auth;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = this.auth.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { message: text.slice(0, 200) };
    }
    if (response.status === 401) this.auth.expired();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  queue(queue, { cursor, category, limit = 25 } = {}) {
    const q = new URLSearchParams({ queue, limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    if (category) q.set("category", category);
    return this.request("GET", `/cases?${q}`);
  }
  counts(queue) { return this.request("GET", `/cases/counts?queue=${encodeURIComponent(queue)}`); }
  rules(category) { return this.request("GET", `/policy/rules?category=${encodeURIComponent(category)}`); }
  case(id) { return this.request("GET", `/cases/${encodeURIComponent(id)}`); }
  claim(id) { return this.request("POST", `/cases/${encodeURIComponent(id)}/claim`); }
  preview(id, outcome, ruleId) {
    return this.request("POST", `/cases/${encodeURIComponent(id)}/decisions/preview`, { outcome, rule_id: ruleId });
  }
  decide(id, body) { return this.request("POST", `/cases/${encodeURIComponent(id)}/decisions`, body); }
  decideAppeal(id, body) { return this.request("POST", `/cases/${encodeURIComponent(id)}/appeals/decision`, body); }
  mediaViewed(id, mediaId) {
    return this.request("POST", `/cases/${encodeURIComponent(id)}/media-views`, { media_id: mediaId });
  }
  stats(query) { return this.request("GET", `/stats?${new URLSearchParams(query)}`); }
  async statsCsv(query) {
    const token = this.auth.token();
    const response = await fetch(`${this.base}/stats?${new URLSearchParams(query)}`, {
      headers: { Accept: "text/csv", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    if (response.status === 401) this.auth.expired();
    if (!response.ok) {
      let data = null;
      try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
      throw new ApiError(response.status, data);
    }
    return text;
  }
  inbox(inbox, cursor) {
    const q = new URLSearchParams({ inbox, limit: "20" });
    if (cursor) q.set("cursor", cursor);
    return this.request("GET", `/me/notifications?${q}`);
  }
}
