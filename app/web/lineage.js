/**
 * modelreg's lineage explorer (app/web/lineage.html, served at /lineage?id=ID&direction=BOTH&depth=2).
 *
 * Asks POST /graphql for `lineage(id, direction, depth)` and draws the nodes (coloured by kind) and the edges
 * (upstream -> downstream, labelled by kind) with Cytoscape's built-in breadthfirst layout. Clicking a node
 * shows its fields in the side panel and expands it one hop (`lineage(id, BOTH, 1)`), merged into the graph.
 *
 * The token bar is token-bar.js's window.ModelregTokenBar, loaded first: the bearer token comes from the URL
 * fragment (#token=..., then removed from the address bar), else from localStorage (key modelreg:token,
 * shared with the GraphiQL page), else the browser session cookie of "Sign in" (sent with X-Requested-With,
 * as the server requires of cookie-authenticated requests). The token never goes into a URL and is never
 * logged. Nothing here talks to any host but the one that served the page.
 *
 * For tests, window.__lineage describes what is drawn after every render (see publish()).
 */
(function () {
  'use strict';

  var bar = window.ModelregTokenBar;
  var ENDPOINT = '/graphql';
  var TOKEN_COMMAND = 'modelreg token --sub you --role data-scientist';
  var DIRECTIONS = ['UPSTREAM', 'DOWNSTREAM', 'BOTH'];
  var DEFAULT_DIRECTION = 'BOTH';
  var DEFAULT_DEPTH = 2;
  var MAX_DEPTH = 50;
  var MAX_NODES = 500;

  var KINDS = {
    MODEL_VERSION: { name: 'Model version', color: '#16a34a', shape: 'round-rectangle' },
    RUN: { name: 'Run', color: '#d97706', shape: 'ellipse' },
    DATASET: { name: 'Dataset', color: '#2563eb', shape: 'barrel' },
    CODE_COMMIT: { name: 'Code commit', color: '#7c3aed', shape: 'diamond' },
    EXTERNAL: { name: 'External', color: '#64748b', shape: 'hexagon' }
  };
  var UNKNOWN_KIND = { name: 'Other', color: '#9ca3af', shape: 'ellipse' };

  // Fields that share a name across the union's types but not a type (Dataset.version is a String,
  // ModelVersion.version an Int) cannot be merged by GraphQL, so each type's are aliased apart.
  var LINEAGE_QUERY = [
    'query Lineage($id: ID!, $direction: LineageDirection!, $depth: Int!) {',
    '  lineage(id: $id, direction: $direction, depth: $depth, maxNodes: ' + MAX_NODES + ') {',
    '    root',
    '    truncated',
    '    nodes {',
    '      id',
    '      kind',
    '      label',
    '      depth',
    '      entity {',
    '        __typename',
    '        ... on Dataset { datasetName: name datasetVersion: version datasetUri: uri digest format size',
    '                         rowCount sourceSystem createdAt }',
    '        ... on Run { tracker runId runUri experimentName startedAt endedAt',
    '                     environment { pythonVersion requirementsDigest containerImage } }',
    '        ... on CodeCommit { repositoryUrl commitSha branch }',
    '        ... on ModelVersion { modelName: name versionNumber: version versionUri: uri stage status }',
    '        ... on ExternalNode { externalName: name category externalUri: uri description }',
    '      }',
    '    }',
    '    edges { kind upstreamId downstreamId relation }',
    '  }',
    '}'
  ].join('\n');
  var RESOLVE_QUERY = 'query ResolveModelUri($uri: String!) { resolveModelUri(uri: $uri) { modelVersion { id } } }';
  var VIEWER_QUERY = '{ viewer { subject roles } }';

  // What the side panel shows for each kind: [label, key in entity (dots for nested), format].
  var FIELDS = {
    DATASET: [['Name', 'datasetName'], ['Version', 'datasetVersion'], ['URI', 'datasetUri', 'link'],
      ['Digest', 'digest', 'mono'], ['Format', 'format'], ['Size', 'size', 'bytes'], ['Rows', 'rowCount', 'count'],
      ['Source system', 'sourceSystem'], ['Registered', 'createdAt', 'time']],
    RUN: [['Tracker', 'tracker'], ['Run id', 'runId', 'mono'], ['Run URI', 'runUri', 'link'],
      ['Experiment', 'experimentName'], ['Started', 'startedAt', 'time'], ['Ended', 'endedAt', 'time'],
      ['Python', 'environment.pythonVersion'], ['Requirements digest', 'environment.requirementsDigest', 'mono'],
      ['Container image', 'environment.containerImage', 'mono']],
    CODE_COMMIT: [['Repository', 'repositoryUrl', 'link'], ['Commit', 'commitSha', 'mono'], ['Branch', 'branch']],
    MODEL_VERSION: [['Model', 'modelName'], ['Version', 'versionNumber'], ['URI', 'versionUri', 'mono'],
      ['Stage', 'stage'], ['Status', 'status']],
    EXTERNAL: [['Name', 'externalName'], ['Category', 'category'], ['URI', 'externalUri', 'link'],
      ['Description', 'description']]
  };

  var $ = function (id) { return document.getElementById(id); };

  var cy = null;
  var renders = 0;
  // The graph on screen: what the last "Show" loaded plus every expansion since.
  var graph = newGraph(null);

  function newGraph(query) {
    return { query: query, root: null, truncated: false, nodes: {}, order: [], edges: {}, edgeOrder: [],
             expanded: {}, selected: null, generation: (graph ? graph.generation : 0) + 1 };
  }

  // ---------------------------------------------------------------------------------------------- token

  /** Where "Sign in" / "Sign out" comes back to: this page with its current query (URL-encoded). */
  function hereForNext() {
    return encodeURIComponent(window.location.pathname + window.location.search);
  }

  /** Ask the server who the token belongs to, so a bad or expired token shows up at once. */
  function checkToken() {
    var token = bar.currentToken();
    if (!token && !bar.session().signedIn) {
      bar.setStatus('none', bar.session().signInEnabled ? 'Not signed in' : 'No token set');
      return;
    }
    bar.setStatus('checking', 'Checking token\u2026');
    graphql(VIEWER_QUERY, {}).then(function (data) {
      bar.showViewer(data.viewer, token);
    }, function (failure) {
      bar.setStatus('error', (token ? 'Token rejected: ' : 'Session rejected: ') + failure.message);
    });
  }

  // -------------------------------------------------------------------------------------------- GraphQL

  function Failure(code, message, status) {
    this.code = code;
    this.message = message;
    this.status = status;
  }

  /** POST a query; resolve with `data`, reject with a Failure (GraphQL error code, message, HTTP status). */
  function graphql(query, variables) {
    var headers = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json;q=0.9'
    };
    Object.assign(headers, bar.authHeaders(bar.currentToken(), 'XMLHttpRequest'));
    return fetch(ENDPOINT, { method: 'POST', headers: headers, credentials: 'same-origin', cache: 'no-store',
                             body: JSON.stringify({ query: query, variables: variables }) })
      .then(function (response) {
        return response.text().then(function (text) {
          var body;
          try {
            body = JSON.parse(text);
          } catch (e) {
            throw new Failure('HTTP_' + response.status, text.slice(0, 300) || response.statusText,
                              response.status);
          }
          var errors = body && body.errors;
          if (errors && errors.length) {
            var first = errors[0] || {};
            var code = (first.extensions && first.extensions.code) ||
              (response.ok ? 'ERROR' : 'HTTP_' + response.status);
            var more = errors.length > 1 ? ' (and ' + (errors.length - 1) + ' more error(s))' : '';
            throw new Failure(code, String(first.message || 'unknown error') + more, response.status);
          }
          if (!response.ok || !body || !body.data) {
            throw new Failure('HTTP_' + response.status, 'unexpected reply: ' + text.slice(0, 300), response.status);
          }
          return body.data;
        });
      }, function (error) {
        throw new Failure('NETWORK', 'server unreachable: ' + (error && error.message), 0);
      });
  }

  // ------------------------------------------------------------------------------------------ messages

  function showError(failure, context) {
    var box = $('error');
    box.textContent = '';
    var code = document.createElement('span');
    code.className = 'code';
    var httpStatus = failure.status && failure.status !== 200 ? ' (HTTP ' + failure.status + ')' : '';
    code.textContent = failure.code + httpStatus;
    box.appendChild(code);
    box.appendChild(document.createTextNode(' ' + (context ? context + ': ' : '') + failure.message));
    if (failure.status === 401 || failure.code === 'UNAUTHENTICATED') {
      box.appendChild(document.createTextNode(
        '\nPaste a valid token in the bar at the top' + (bar.session().signInEnabled ? ' or sign in' : '') +
        '. Get one with: ' + TOKEN_COMMAND));
    }
    box.hidden = false;
    box.dataset.code = failure.code;
    box.dataset.status = String(failure.status || '');
  }

  function clearError() {
    var box = $('error');
    box.hidden = true;
    box.textContent = '';
    delete box.dataset.code;
    delete box.dataset.status;
  }

  function showNotice(text) {
    var box = $('notice');
    box.textContent = text || '';
    box.hidden = !text;
  }

  function setState(state) {
    $('graph-pane').dataset.state = state;
  }

  // ------------------------------------------------------------------------------------------- the URL

  function readQueryFromUrl() {
    var params = new URLSearchParams(window.location.search);
    var direction = (params.get('direction') || '').toUpperCase();
    var depth = parseInt(params.get('depth'), 10);
    return {
      id: (params.get('id') || '').trim(),
      direction: DIRECTIONS.indexOf(direction) >= 0 ? direction : DEFAULT_DIRECTION,
      depth: isFinite(depth) ? Math.min(Math.max(depth, 1), MAX_DEPTH) : DEFAULT_DEPTH
    };
  }

  function writeQueryToUrl(query) {
    var params = new URLSearchParams({ id: query.id, direction: query.direction, depth: String(query.depth) });
    history.replaceState(null, '', window.location.pathname + '?' + params.toString());
    $('console-explorer').href = '/#/lineage?' + params.toString(); // the same graph in the web console
    bar.showSessionLink(hereForNext());
  }

  function fillForm(query) {
    $('root-input').value = query.id;
    $('direction-select').value = query.direction;
    $('depth-input').value = String(query.depth);
  }

  function readForm() {
    var depth = parseInt($('depth-input').value, 10);
    return {
      id: $('root-input').value.trim(),
      direction: $('direction-select').value,
      depth: isFinite(depth) ? Math.min(Math.max(depth, 1), MAX_DEPTH) : DEFAULT_DEPTH
    };
  }

  // --------------------------------------------------------------------------------------------- graph

  function kindOf(kind) {
    return KINDS[kind] || UNKNOWN_KIND;
  }

  function edgeKey(edge) {
    return edge.kind + ' ' + edge.upstreamId + ' ' + edge.downstreamId;
  }

  function edgeLabel(edge) {
    return edge.relation ? edge.kind + ' (' + edge.relation + ')' : edge.kind;
  }

  /** Merge a lineage result into `graph`; return the Cytoscape elements that are new. `baseDepth` is the
   *  depth of the node the result was centred on (0 for the root). */
  function merge(result, baseDepth) {
    var added = [];
    result.nodes.forEach(function (node) {
      if (graph.nodes[node.id]) return;
      var entry = { id: node.id, kind: node.kind, label: node.label, depth: baseDepth + node.depth,
                    entity: node.entity || {} };
      graph.nodes[node.id] = entry;
      graph.order.push(node.id);
      added.push({ group: 'nodes', data: { id: node.id, label: node.label, kind: node.kind,
                                           color: kindOf(node.kind).color, shape: kindOf(node.kind).shape } });
    });
    result.edges.forEach(function (edge) {
      var key = edgeKey(edge);
      if (graph.edges[key] || !graph.nodes[edge.upstreamId] || !graph.nodes[edge.downstreamId]) return;
      graph.edges[key] = { kind: edge.kind, upstreamId: edge.upstreamId, downstreamId: edge.downstreamId,
                           relation: edge.relation || null };
      graph.edgeOrder.push(key);
      added.push({ group: 'edges', data: { id: 'e' + graph.edgeOrder.length, source: edge.upstreamId,
                                           target: edge.downstreamId, kind: edge.kind, label: edgeLabel(edge) } });
    });
    return added;
  }

  function graphStyle() {
    return [
      { selector: 'node', style: {
        'background-color': 'data(color)', shape: 'data(shape)', width: 36, height: 36,
        'border-width': 1, 'border-color': '#1f2933', 'border-opacity': 0.35,
        label: 'data(label)', 'font-size': 12, color: '#1f2933', 'text-valign': 'bottom', 'text-margin-y': 6,
        'text-wrap': 'wrap', 'text-max-width': 210, 'text-overflow-wrap': 'anywhere',
        'text-background-color': '#fbfcfd', 'text-background-opacity': 0.85, 'text-background-padding': 2,
        'overlay-opacity': 0
      } },
      { selector: 'node[kind = "MODEL_VERSION"]', style: { width: 52, height: 34 } },
      { selector: 'node.root', style: {
        'border-width': 5, 'border-color': '#111827', 'border-opacity': 1, 'font-weight': 'bold',
        width: 46, height: 46
      } },
      { selector: 'node[kind = "MODEL_VERSION"].root', style: { width: 62, height: 42 } },
      { selector: 'node:selected', style: {
        'underlay-color': '#f59e0b', 'underlay-opacity': 0.45, 'underlay-padding': 8, 'underlay-shape': 'ellipse'
      } },
      { selector: 'edge', style: {
        width: 1.6, 'curve-style': 'bezier', 'line-color': '#9aa5b1', 'target-arrow-color': '#9aa5b1',
        'target-arrow-shape': 'triangle', 'arrow-scale': 1.2,
        label: 'data(label)', 'font-size': 10, color: '#52606d', 'text-rotation': 'autorotate',
        'text-background-color': '#fbfcfd', 'text-background-opacity': 1, 'text-background-padding': 1,
        'overlay-opacity': 0
      } },
      { selector: 'edge[kind = "DERIVED_FROM"]', style: {
        'line-color': '#16a34a', 'target-arrow-color': '#16a34a', 'line-style': 'dashed'
      } }
    ];
  }

  function ensureCy() {
    if (cy) return cy;
    cy = window.cytoscape({
      container: $('cy'), elements: [], style: graphStyle(), minZoom: 0.15, maxZoom: 3,
      boxSelectionEnabled: false, selectionType: 'single'
    });
    cy.on('tap', 'node', function (event) { onNodeClicked(event.target.id()); });
    return cy;
  }

  var KIND_ORDER = ['CODE_COMMIT', 'DATASET', 'EXTERNAL', 'RUN', 'MODEL_VERSION'];

  /** Order of the nodes within one column: by kind, then label. Cytoscape 3.35's breadthfirst sorts a column
   *  before dropping the holes `maximal` leaves in it, so the comparator must accept null (sorted last). */
  function depthSort(a, b) {
    if (!a || !b) return (a ? 0 : 1) - (b ? 0 : 1);
    var byKind = KIND_ORDER.indexOf(a.data('kind')) - KIND_ORDER.indexOf(b.data('kind'));
    if (byKind) return byKind;
    var la = a.data('label');
    var lb = b.data('label');
    return la < lb ? -1 : la > lb ? 1 : 0;
  }

  /** Columns left to right in the direction data flows: sources first, each node right of all its inputs. */
  function layout() {
    var sources = cy.nodes().filter(function (node) { return node.indegree(false) === 0; });
    cy.layout({
      name: 'breadthfirst', directed: true, direction: 'rightward', maximal: true, depthSort: depthSort,
      roots: sources.length ? sources : cy.nodes('.root'), spacingFactor: 1.15, padding: 50,
      avoidOverlap: true, nodeDimensionsIncludeLabels: true, animate: false, fit: true
    }).run();
    routeEdges();
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center();
    }
  }

  /** Whether the segment a-b passes through `box` grown by `pad` (Liang-Barsky clipping). */
  function segmentHitsBox(a, b, box, pad) {
    var dx = b.x - a.x;
    var dy = b.y - a.y;
    var p = [-dx, dx, -dy, dy];
    var q = [a.x - (box.x1 - pad), box.x2 + pad - a.x, a.y - (box.y1 - pad), box.y2 + pad - a.y];
    var t0 = 0;
    var t1 = 1;
    for (var i = 0; i < 4; i++) {
      if (p[i] === 0) {
        if (q[i] < 0) return false;
      } else {
        var r = q[i] / p[i];
        if (p[i] < 0) {
          if (r > t1) return false;
          if (r > t0) t0 = r;
        } else {
          if (r < t0) return false;
          if (r < t1) t1 = r;
        }
      }
    }
    return true;
  }

  /** An edge that skips a column would run straight through the nodes (and labels) in between: bend it
   *  around them, to the side that needs the smaller bend (above, on a tie). */
  function routeEdges() {
    var boxes = cy.nodes().map(function (node) {
      return { node: node, box: node.boundingBox({ includeLabels: true, includeOverlays: false }) };
    });
    cy.edges().forEach(function (edge) {
      var a = edge.source().position();
      var b = edge.target().position();
      var length = Math.sqrt((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y));
      // Cytoscape puts a positive control-point distance on this side of the source -> target line.
      var normal = length ? { x: -(b.y - a.y) / length, y: (b.x - a.x) / length } : { x: 0, y: 1 };
      var mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      var low = 0;
      var high = 0;
      boxes.forEach(function (entry) {
        if (entry.node.same(edge.source()) || entry.node.same(edge.target())) return;
        if (!length || !segmentHitsBox(a, b, entry.box, 4)) return;
        var centre = { x: (entry.box.x1 + entry.box.x2) / 2, y: (entry.box.y1 + entry.box.y2) / 2 };
        var side = (centre.x - mid.x) * normal.x + (centre.y - mid.y) * normal.y;
        var reach = Math.abs(normal.x) * entry.box.w / 2 + Math.abs(normal.y) * entry.box.h / 2 + 16;
        low = Math.min(low, side - reach);
        high = Math.max(high, side + reach);
      });
      if (!low && !high) {
        edge.removeStyle('curve-style control-point-distances control-point-weights');
        return;
      }
      var peak = -low <= high ? low : high;
      // A quadratic Bezier reaches half way to its control point.
      edge.style({ 'curve-style': 'unbundled-bezier', 'control-point-distances': 2 * peak,
                   'control-point-weights': 0.5 });
    });
  }

  /** Add new elements, mark the root, lay out, and publish what is drawn. */
  function render(added) {
    ensureCy();
    if (added.length) {
      cy.add(added);
      cy.nodes().removeClass('root');
      if (graph.root) cy.getElementById(graph.root).addClass('root');
      layout();
    }
    $('empty').hidden = graph.order.length > 0;
    $('graph-summary').textContent = graph.order.length
      ? graph.order.length + ' node(s), ' + graph.edgeOrder.length + ' edge(s)' : '';
    renders += 1;
    publish();
  }

  /** window.__lineage: what is on screen, for tests and for poking at in the console. */
  function publish() {
    window.__lineage = {
      renders: renders,
      root: graph.root,
      query: graph.query,
      truncated: graph.truncated,
      selected: graph.selected,
      expanded: Object.keys(graph.expanded),
      nodes: graph.order.map(function (id) {
        var node = graph.nodes[id];
        return { id: node.id, kind: node.kind, label: node.label, depth: node.depth };
      }),
      edges: graph.edgeOrder.map(function (key) { return graph.edges[key]; }),
      /** Where node `id` is drawn, in CSS pixels of the page (for clicking it), or null. */
      clientPoint: function (id) {
        var node = cy && cy.getElementById(id);
        if (!node || node.empty()) return null;
        var box = $('cy').getBoundingClientRect();
        var point = node.renderedPosition();
        return { x: box.left + point.x, y: box.top + point.y };
      }
    };
  }

  // ------------------------------------------------------------------------------------------- loading

  function resolveId(text) {
    if (text.indexOf('models:/') !== 0) return Promise.resolve(text);
    return graphql(RESOLVE_QUERY, { uri: text }).then(function (data) {
      return data.resolveModelUri.modelVersion.id;
    });
  }

  /** Load the graph around `query.id` afresh. */
  function load(query) {
    clearError();
    showNotice('');
    if (!query.id) {
      setState('idle');
      return Promise.resolve();
    }
    writeQueryToUrl(query);
    fillForm(query);
    graph = newGraph(query);
    var generation = graph.generation;
    if (cy) cy.elements().remove();
    showDetails(null);
    render([]);
    setState('loading');
    $('graph-summary').textContent = 'Loading\u2026';
    return resolveId(query.id).then(function (id) {
      return graphql(LINEAGE_QUERY, { id: id, direction: query.direction, depth: query.depth });
    }).then(function (data) {
      if (generation !== graph.generation) return;
      var result = data.lineage;
      graph.root = result.root;
      graph.truncated = result.truncated;
      render(merge(result, 0));
      showTruncated();
      setState('ready');
    }, function (failure) {
      if (generation !== graph.generation) return;
      $('graph-summary').textContent = '';
      showError(failure, 'Could not load the lineage of ' + query.id);
      setState('error');
      publish();
    });
  }

  function showTruncated() {
    var depth = graph.query ? graph.query.depth : DEFAULT_DEPTH;
    showNotice(graph.truncated
      ? 'Truncated: the lineage goes on beyond what is shown (more than ' + depth + ' hop(s) away, or past ' +
        MAX_NODES + ' nodes, nearest first). Click a node to expand it one hop, or raise the depth.'
      : '');
  }

  /** Show a node's fields and expand it one hop in both directions (once). */
  function onNodeClicked(id) {
    var node = graph.nodes[id];
    if (!node) return;
    graph.selected = id;
    showDetails(node);
    publish();
    if (graph.expanded[id]) {
      setExpandStatus('Already expanded.');
      return;
    }
    graph.expanded[id] = 'pending';
    var generation = graph.generation;
    setExpandStatus('Expanding\u2026');
    graphql(LINEAGE_QUERY, { id: id, direction: 'BOTH', depth: 1 }).then(function (data) {
      if (generation !== graph.generation) return;
      var result = data.lineage;
      var nodesBefore = graph.order.length;
      var edgesBefore = graph.edgeOrder.length;
      graph.expanded[id] = 'done';
      // A one-hop walk is `truncated` whenever there is more beyond that hop, which is what clicking is for;
      // only a node with more neighbours than one query returns is worth a notice.
      if (result.nodes.length >= MAX_NODES && !graph.truncated) {
        graph.truncated = true;
        showTruncated();
      }
      render(merge(result, node.depth));
      var newNodes = graph.order.length - nodesBefore;
      var newEdges = graph.edgeOrder.length - edgesBefore;
      if (graph.selected === id) {
        cy.getElementById(id).select();
        setExpandStatus(newNodes || newEdges
          ? 'Expanded: ' + newNodes + ' new node(s), ' + newEdges + ' new edge(s).'
          : 'Expanded: no new neighbours.');
      }
    }, function (failure) {
      if (generation !== graph.generation) return;
      delete graph.expanded[id];
      showError(failure, 'Could not expand ' + node.label);
      if (graph.selected === id) setExpandStatus('Expanding failed.');
      publish();
    });
  }

  // ------------------------------------------------------------------------------------ details panel

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    return el;
  }

  function lookup(entity, path) {
    return path.split('.').reduce(function (value, key) {
      return value === null || value === undefined ? null : value[key];
    }, entity);
  }

  function formatBytes(value) {
    var n = Number(value);
    if (!isFinite(n)) return String(value);
    var units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
    var i = 0;
    var scaled = n;
    while (scaled >= 1000 && i < units.length - 1) {
      scaled /= 1000;
      i += 1;
    }
    return i === 0 ? n + ' bytes' : scaled.toFixed(1) + ' ' + units[i] + ' (' + n.toLocaleString('en') + ' bytes)';
  }

  /** The <dd> content for a field value; links only for http(s) URLs, all text via textContent. */
  function valueNode(value, format) {
    if (value === null || value === undefined || value === '') return element('span', 'missing', '\u2014');
    var text = String(value);
    if (format === 'link' && /^https?:\/\//i.test(text)) {
      var link = element('a', 'mono', text);
      link.href = text;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      return link;
    }
    if (format === 'bytes') return element('span', null, formatBytes(value));
    if (format === 'count') return element('span', null, Number(value).toLocaleString('en'));
    if (format === 'time') {
      var date = new Date(text);
      return element('span', null, isNaN(date.getTime()) ? text : date.toISOString().replace('.000Z', 'Z'));
    }
    return element('span', format === 'mono' || format === 'link' ? 'mono' : null, text);
  }

  function setExpandStatus(text) {
    var status = $('details').querySelector('.expand-status');
    if (status) status.textContent = text;
  }

  function showDetails(node) {
    var panel = $('details');
    panel.textContent = '';
    if (!node) {
      panel.appendChild(element('p', 'placeholder', 'Click a node to see its details and expand it.'));
      delete panel.dataset.nodeId;
      return;
    }
    panel.dataset.nodeId = node.id;
    var kind = kindOf(node.kind);
    var title = element('h2', null, node.label);
    title.setAttribute('data-testid', 'details-title');
    panel.appendChild(title);
    var badge = element('span', 'kind-badge', kind.name + (node.id === graph.root ? ' \u00b7 root' : ''));
    badge.style.background = kind.color;
    badge.setAttribute('data-testid', 'details-kind');
    badge.dataset.kind = node.kind;
    panel.appendChild(badge);

    var list = element('dl');
    list.setAttribute('data-testid', 'details-fields');
    function row(label, valueEl) {
      var dt = element('dt', null, label);
      var dd = element('dd');
      dd.appendChild(valueEl);
      dd.dataset.field = label;
      list.appendChild(dt);
      list.appendChild(dd);
    }
    (FIELDS[node.kind] || []).forEach(function (field) {
      row(field[0], valueNode(lookup(node.entity, field[1]), field[2]));
    });
    row('Hops from root', valueNode(node.depth));
    row('Id', valueNode(node.id, 'mono'));
    panel.appendChild(list);

    panel.appendChild(element('p', 'expand-status'));
    var actions = element('p', 'actions');
    var here = element('a', null, 'Explore from this node');
    var params = new URLSearchParams({ id: node.id, direction: graph.query ? graph.query.direction : DEFAULT_DIRECTION,
                                       depth: String(graph.query ? graph.query.depth : DEFAULT_DEPTH) });
    here.href = window.location.pathname + '?' + params.toString();
    here.addEventListener('click', function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      load({ id: node.id, direction: params.get('direction'), depth: Number(params.get('depth')) });
    });
    actions.appendChild(here);
    panel.appendChild(actions);
  }

  function buildLegend() {
    var legend = $('legend');
    legend.textContent = '';
    Object.keys(KINDS).forEach(function (key) {
      var item = element('li');
      item.dataset.kind = key;
      var swatch = element('span', 'swatch');
      swatch.style.background = KINDS[key].color;
      item.appendChild(swatch);
      item.appendChild(element('span', null, KINDS[key].name));
      legend.appendChild(item);
    });
    var root = element('li');
    root.appendChild(element('span', 'swatch root-swatch'));
    root.appendChild(element('span', null, 'Root (thick border)'));
    legend.appendChild(root);
  }

  // --------------------------------------------------------------------------------------------- start

  function start() {
    bar.takeTokenFromFragment();
    buildLegend();
    var query = readQueryFromUrl();
    fillForm(query);
    if (typeof window.cytoscape !== 'function') {
      setState('error');
      showError(new Failure('ASSETS_MISSING', '/static/vendor/cytoscape.min.js did not load. In the project folder ' +
        'run `npm ci` and `python scripts/build_web_assets.py`, then reload this page.', 0));
      publish();
      return;
    }

    // A new token is checked and, unless it was only cleared, the graph is loaded again with it.
    bar.bindTokenForm(function (how) {
      checkToken();
      if (how !== 'clear' && graph.query) load(graph.query);
    });
    $('lineage-form').addEventListener('submit', function (event) {
      event.preventDefault();
      load(readForm());
    });
    $('fit-button').addEventListener('click', function () {
      if (cy) cy.fit(undefined, 50);
    });

    ensureCy();
    publish();
    bar.loadSession(hereForNext()).then(function () {
      checkToken();
      return load(query);
    });
  }

  start();
})();
