// Sign-in. Deployed: Cognito's hosted UI, authorization code + PKCE. Locally: the development sign-in
// (POST /local/token, served only by the local stack). The token lives in memory and sessionStorage (this tab
// only, gone when it closes), never in localStorage, cookies or URLs.

const KEY = "consent-guard.token";
const PKCE = "consent-guard.pkce";

function decodeClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function groupsOf(claims) {
  const raw = claims["cognito:groups"];
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === "string") return raw.replace(/^\[|\]$/g, "").split(/[ ,]+/).filter(Boolean);
  return [];
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class Auth {
  constructor(config, onChange) {
    this.config = config;
    this.onChange = onChange;
    this._token = sessionStorage.getItem(KEY);
    if (this._token && !this.valid(this._token)) this.clear();
  }

  valid(token) {
    const claims = decodeClaims(token);
    return Boolean(claims && claims.exp && claims.exp * 1000 > Date.now() + 5000);
  }

  token() { return this._token; }
  signedIn() { return Boolean(this._token) && this.valid(this._token); }

  person() {
    const claims = this._token ? decodeClaims(this._token) : null;
    if (!claims) return null;
    return { sub: String(claims.sub), groups: groupsOf(claims) };
  }

  has(group) { return Boolean(this.person()?.groups.includes(group)); }

  set(token) {
    this._token = token;
    sessionStorage.setItem(KEY, token);
    this.onChange();
  }

  clear() {
    this._token = null;
    sessionStorage.removeItem(KEY);
  }

  signOut() {
    this.clear();
    if (this.config.auth === "cognito") {
      const c = this.config.cognito;
      const q = new URLSearchParams({ client_id: c.clientId, logout_uri: c.redirectUri });
      location.assign(`${c.domain}/logout?${q}`);
      return;
    }
    this.onChange();
  }

  expired() {
    this.clear();
    this.onChange("Your session has ended: sign in again.");
  }

  // ---------------------------------------------------------------- local development sign-in
  async signInLocal(sub, groups) {
    const response = await fetch(`${this.config.api || ""}/local/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sub, groups }),
      credentials: "omit",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || `sign-in failed (${response.status})`);
    this.set(data.token);
  }

  // ---------------------------------------------------------------- Cognito hosted UI, code + PKCE
  async startCognito() {
    const c = this.config.cognito;
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
    const q = new URLSearchParams({
      response_type: "code",
      client_id: c.clientId,
      redirect_uri: c.redirectUri,
      scope: "openid email",
      state,
      code_challenge_method: "S256",
      code_challenge: challenge,
    });
    location.assign(`${c.domain}/oauth2/authorize?${q}`);
  }

  // On the way back from the hosted UI: exchange ?code for tokens, then drop code and state from the address.
  async completeCognito() {
    const params = new URLSearchParams(location.search);
    const code = params.get("code");
    if (!code) return false;
    const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
    sessionStorage.removeItem(PKCE);
    history.replaceState(null, "", location.pathname + location.hash);
    if (!saved || saved.state !== params.get("state")) throw new Error("sign-in state mismatch: try again");
    const c = this.config.cognito;
    const response = await fetch(`${c.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: c.clientId,
        code,
        redirect_uri: c.redirectUri,
        code_verifier: saved.verifier,
      }),
      credentials: "omit",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || !data.id_token) throw new Error(data.error || "sign-in failed");
    this.set(data.id_token);
    return true;
  }
}
