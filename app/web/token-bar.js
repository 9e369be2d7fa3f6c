/**
 * The token bar shared by modelreg's browser pages (graphiql.html, lineage.html); load it before the page's
 * own script. It expects the bar's elements: #token-form, #token-input, #token-clear, #token-status (class
 * "status KIND") and #session-link (hidden until the server offers browser sign-in).
 *
 * The bearer token comes from the URL fragment (#token=..., then removed from the address bar and history)
 * or the bar's field, and is kept in localStorage (key modelreg:token, shared by the pages). With no token,
 * requests rely on the HttpOnly session cookie of "Sign in" and must send X-Requested-With, which the server
 * requires of cookie-authenticated requests. /auth/session says whether sign-in is available.
 *
 * window.ModelregTokenBar:
 *   TOKEN_KEY                        the localStorage key
 *   takeTokenFromFragment()          store a #token=... from the URL and strip it from the address bar
 *   currentToken()                   the stored token, or ''
 *   storeToken(token)                store a token ('' removes it)
 *   setStatus(kind, text)            the status text; kind is none | checking | ok | error
 *   showViewer(viewer, token)        "Signed in as SUBJECT (ROLES)" for a { subject, roles } viewer
 *   session()                        the last /auth/session reply ({ signInEnabled, signedIn, ... })
 *   loadSession(next)                fetch /auth/session, show the session link; a promise of session()
 *   showSessionLink(next)            show "Sign in" / "Sign out", coming back to `next` (already URL-encoded)
 *   authHeaders(token, requestedWith) the request headers that authenticate: the bearer token, or else
 *                                    X-Requested-With: requestedWith for the session cookie
 *   bindTokenForm(onChange)          fill the field and wire "Use token", "Clear" and #token= changes;
 *                                    onChange(how) runs after each, how is 'submit' | 'clear' | 'fragment'
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'modelreg:token';
  var SESSION = { signInEnabled: false, signedIn: false };

  var $ = function (id) { return document.getElementById(id); };

  /** A token from #token=... wins; it is stored and removed from the address bar and history. */
  function takeTokenFromFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    var token = (params.get('token') || '').trim();
    if (token) {
      localStorage.setItem(TOKEN_KEY, token);
      history.replaceState(null, '', window.location.pathname + window.location.search);
    }
  }

  function currentToken() {
    return (localStorage.getItem(TOKEN_KEY) || '').trim();
  }

  function storeToken(token) {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  }

  function setStatus(kind, text) {
    var status = $('token-status');
    status.className = 'status ' + kind;
    status.textContent = text;
  }

  /** The bar's "ok" status for the viewer the server named; `token` is '' for the browser session. */
  function showViewer(viewer, token) {
    var roles = viewer.roles.length ? viewer.roles.join(', ') : 'no roles';
    setStatus('ok', 'Signed in as ' + viewer.subject + ' (' + roles + ')' + (token ? '' : ' \u00b7 browser session'));
  }

  function session() {
    return SESSION;
  }

  /** Show "Sign in" or "Sign out" when the server offers browser sign-in. */
  function showSessionLink(next) {
    var link = $('session-link');
    if (!SESSION.signInEnabled) return;
    link.textContent = SESSION.signedIn ? 'Sign out' : 'Sign in';
    link.href = (SESSION.signedIn ? '/auth/logout' : '/auth/login') + '?next=' + next;
    link.hidden = false;
  }

  /** Ask the server whether browser sign-in is available and whether this browser is signed in. */
  function loadSession(next) {
    return fetch('/auth/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : SESSION; })
      .then(function (reply) { SESSION = reply || SESSION; showSessionLink(next); }, function () {})
      .then(session);
  }

  function authHeaders(token, requestedWith) {
    return token ? { Authorization: 'Bearer ' + token } : { 'X-Requested-With': requestedWith };
  }

  function bindTokenForm(onChange) {
    var input = $('token-input');
    input.value = currentToken();
    $('token-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var token = input.value.trim().replace(/^Bearer\s+/i, '');
      storeToken(token);
      input.value = token;
      onChange('submit');
    });
    $('token-clear').addEventListener('click', function () {
      storeToken('');
      input.value = '';
      onChange('clear');
    });
    window.addEventListener('hashchange', function () {
      takeTokenFromFragment();
      input.value = currentToken();
      onChange('fragment');
    });
  }

  window.ModelregTokenBar = {
    TOKEN_KEY: TOKEN_KEY,
    takeTokenFromFragment: takeTokenFromFragment,
    currentToken: currentToken,
    storeToken: storeToken,
    setStatus: setStatus,
    showViewer: showViewer,
    session: session,
    loadSession: loadSession,
    showSessionLink: showSessionLink,
    authHeaders: authHeaders,
    bindTokenForm: bindTokenForm
  };
})();
