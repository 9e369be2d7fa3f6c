/**
 * modelreg's GraphiQL page: renders GraphiQL from the locally served bundles (/static/vendor/*, built by
 * scripts/build_web_assets.py) with a fetcher that sends the bearer token from the token bar, or, with no
 * token set, the browser session of "Sign in" (the HttpOnly cookie, with the X-Requested-With header the
 * server requires of cookie-authenticated requests).
 *
 * The token bar itself (the token from the field or #token=..., kept in localStorage; the status; the
 * "Sign in" link) is token-bar.js's window.ModelregTokenBar, loaded first. Nothing here talks to any host
 * but the one that served the page.
 */
(function () {
  'use strict';

  var bar = window.ModelregTokenBar;
  var ENDPOINT = '/graphql';
  var TOKEN_COMMAND = 'modelreg token --sub you --role data-scientist';

  // Short, so that both operations show without scrolling at 1280x720 (tests/js/graphiql_check.mjs checks it).
  var DEFAULT_QUERY = [
    '# Token: paste one above. Run: \u25B6 or Ctrl-Enter.',
    'query Overview {',
    '  viewer { subject roles }',
    '  registeredModels(first: 10) { nodes {',
    '    name latestVersion { version stage uri }',
    '  } }',
    '}',
    '# The README quickstart\u2019s model (drawn: /#/lineage)',
    'query Lineage(',
    '  $uri: String! = "models:/demo/churn/latest") {',
    '  resolveModelUri(uri: $uri) { modelVersion {',
    '    lineage(direction: UPSTREAM) {',
    '      nodes { kind label entity {',
    '        ... on ModelVersion { name version stage }',
    '        ... on Dataset { name uri }',
    '        ... on Run { runUri experimentName }',
    '        ... on CodeCommit { repositoryUrl }',
    '      } }',
    '      edges { kind upstreamId downstreamId }',
    '      mermaid',
    '    } } }',
    '}'
  ].join('\n');

  var $ = function (id) { return document.getElementById(id); };

  /** Vendor bundles and stylesheet are present (the scripts set globals; the sheet has rules). */
  function assetsLoaded() {
    if (!window.React || !window.ReactDOM || !window.GraphiQL) return false;
    try {
      var link = document.querySelector('link[href$="graphiql.min.css"]');
      return Boolean(link && link.sheet && link.sheet.cssRules.length > 0);
    } catch (e) {
      return false;
    }
  }

  function showMissingAssets() {
    $('graphiql').innerHTML =
      '<div class="notice"><h1>GraphiQL\u2019s files are not built</h1>' +
      '<p>This server serves GraphiQL from <code>app/web/vendor/</code>, which is empty or incomplete. ' +
      'In the project folder run:</p><pre>npm ci\npython scripts/build_web_assets.py</pre>' +
      '<p>then reload this page. The API itself works: POST queries to <code>/graphql</code> ' +
      'with <code>Authorization: Bearer &lt;token&gt;</code>.</p></div>';
  }

  /** GraphiQL fetcher: POST to /graphql with the token; any reply is shown, JSON or not. */
  function makeFetcher(token) {
    return function fetcher(params, options) {
      var headers = {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json;q=0.9'
      };
      Object.assign(headers, bar.authHeaders(token, 'modelreg-graphiql'), (options && options.headers) || {});
      if (!headers.Authorization && !bar.session().signedIn) {
        return Promise.resolve({ errors: [{ message: bar.session().signInEnabled
          ? 'Not signed in: use "Sign in" at the top, or paste a token in the bar.'
          : 'No token: paste one in the bar at the top. Get one with: ' + TOKEN_COMMAND }] });
      }
      return fetch(ENDPOINT, { method: 'POST', headers: headers, body: JSON.stringify(params),
                               credentials: 'same-origin' })
        .then(function (response) {
          return response.text().then(function (text) {
            try {
              return JSON.parse(text);
            } catch (e) {
              return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 500) }] };
            }
          });
        });
    };
  }

  /** Ask the server who the token belongs to, so a bad or expired token shows up at once. */
  function checkToken(fetcher, token) {
    if (!token && !bar.session().signedIn) return bar.setStatus('none', 'No token set');
    bar.setStatus('checking', 'Checking token\u2026');
    fetcher({ query: '{ viewer { subject roles } }', operationName: null }).then(function (result) {
      var viewer = result && result.data && result.data.viewer;
      if (viewer) {
        bar.showViewer(viewer, token);
      } else {
        var error = result && result.errors && result.errors[0];
        bar.setStatus('error', 'Token rejected: ' + (error ? error.message : 'unexpected reply'));
      }
    }, function (error) {
      bar.setStatus('error', 'Server unreachable: ' + error.message);
    });
  }

  function start() {
    bar.takeTokenFromFragment();
    if (!assetsLoaded()) {
      bar.setStatus('error', 'GraphiQL assets missing');
      showMissingAssets();
      return;
    }
    var h = window.React.createElement;
    var GraphiQL = window.GraphiQL;
    var root = window.ReactDOM.createRoot($('graphiql'));

    function render() {
      var token = bar.currentToken();
      var fetcher = makeFetcher(token); // a new fetcher makes GraphiQL fetch the schema again
      root.render(h(GraphiQL, {
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        defaultEditorToolsVisibility: false,
        shouldPersistHeaders: false
      }, h(GraphiQL.Logo, null, 'modelreg')));
      checkToken(fetcher, token);
    }

    bar.bindTokenForm(function () { render(); }); // a new or cleared token: refetch the schema, check it
    bar.loadSession('/graphql').then(function () { render(); });
  }

  start();
})();
