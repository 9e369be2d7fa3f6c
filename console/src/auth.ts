// Credentials, as the other pages of modelreg keep them (app/web/token-bar.js): a bearer token from the bar or a
// #token=... fragment, stored in localStorage under modelreg:token; without one, the HttpOnly session cookie of
// the browser sign-in (/auth/login), which needs X-Requested-With on every request.
export const TOKEN_KEY = 'modelreg:token';

export interface Session {
  signInEnabled: boolean;
  signedIn: boolean;
  subject?: string;
  roles?: string[];
}

/** A #token=... fragment wins: it is stored and replaced by the catalogue's route (never kept in history). */
export function takeTokenFromFragment(): void {
  const match = /^#token=([^&]*)/.exec(window.location.hash);
  if (!match) return;
  const token = decodeURIComponent(match[1]).trim();
  if (token) localStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
}

export function currentToken(): string {
  return (localStorage.getItem(TOKEN_KEY) || '').trim();
}

export function storeToken(token: string): void {
  const clean = token.trim().replace(/^Bearer\s+/i, '');
  if (clean) localStorage.setItem(TOKEN_KEY, clean);
  else localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token ? { Authorization: `Bearer ${token}` } : { 'X-Requested-With': 'modelreg-console' };
}

export async function loadSession(): Promise<Session> {
  try {
    const response = await fetch('/auth/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.ok) return (await response.json()) as Session;
  } catch {
    // no session endpoint answer: treat as no sign-in
  }
  return { signInEnabled: false, signedIn: false };
}
