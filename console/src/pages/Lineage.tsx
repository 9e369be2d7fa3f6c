// The lineage explorer: the graph around a node laid out in layers by dagre (data flows left to right, each node one
// layer right of its inputs, so a version's datasets, run and commit sit just left of it), drawn at full size (labels
// never shrink below 12 px: the canvas scrolls and zooms in instead), with stage badges on versions and a side panel
// of the selected node (metrics, files, times, links onward). Nodes are buttons: Tab through them, Enter selects.
import dagre from '@dagrejs/dagre';
import { useLayoutEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useClient, useQuery } from 'urql';
import {
  LineageExplorerDocument, LineageVersionDocument, ResolveLineageUriDocument, type LineageDirection,
  type LineageExplorerQuery,
} from '../generated/graphql';
import { lineageHref, modelHref, versionHref } from '../router';
import { DownloadLink, Empty, ErrorBox, Loading, StageBadge, StatusBadge, Time, formatBytes, formatMetric, usePageTitle } from '../ui';

type Graph = NonNullable<LineageExplorerQuery['lineage']>;
type LNode = Graph['nodes'][number];
type LEdge = Graph['edges'][number];

const DIRECTIONS: LineageDirection[] = ['BOTH', 'UPSTREAM', 'DOWNSTREAM'];
const KIND_NAMES: Record<string, string> = {
  MODEL_VERSION: 'Model version', DATASET: 'Dataset', RUN: 'Run', CODE_COMMIT: 'Code commit', EXTERNAL: 'External',
};
const ZOOMS = [1, 1.25, 1.5, 2];
const EDGE_FONT_PX = 12;

export function LineagePage({ params }: { params: URLSearchParams }) {
  const heading = usePageTitle('Lineage');
  const id = params.get('id') || '';
  const direction = (DIRECTIONS.find((d) => d === (params.get('direction') || '').toUpperCase()) ?? 'BOTH') as LineageDirection;
  const depth = Math.min(Math.max(Number(params.get('depth')) || 3, 1), 50);
  return (
    <section aria-labelledby="lineage-title" className="lineage-page">
      <h1 id="lineage-title" ref={heading}>Lineage</h1>
      <StartForm key={`form ${id} ${direction} ${depth}`} id={id} direction={direction} depth={depth} />
      {id.startsWith('models:/') ? <FromUri uri={id} direction={direction} depth={depth} />
        : id ? <Explorer key={`${id} ${direction} ${depth}`} id={id} direction={direction} depth={depth} />
        : <Empty>Start from a model version's <code>models:/NAME/VERSION</code> URI or any node's id (a version page links here).</Empty>}
    </section>
  );
}

/** #/lineage?id=models:/NAME/VERSION (or a stage, latest, @alias): the version it points at now. */
function FromUri({ uri, direction, depth }: { uri: string; direction: LineageDirection; depth: number }) {
  const [{ data, error, fetching }] = useQuery({ query: ResolveLineageUriDocument, variables: { uri } });
  if (error && !data) return <ErrorBox error={error} />;
  const id = data?.resolveModelUri?.modelVersion.id;
  if (!id) return fetching || !data ? <Loading what={uri} /> : <Empty>Nothing at <code>{uri}</code>.</Empty>;
  return <Explorer key={`${id} ${direction} ${depth}`} id={id} direction={direction} depth={depth} />;
}

function StartForm({ id, direction, depth }: { id: string; direction: LineageDirection; depth: number }) {
  const client = useClient();
  const [start, setStart] = useState(id);
  const [dir, setDir] = useState<LineageDirection>(direction);
  const [hops, setHops] = useState(String(depth));
  const [problem, setProblem] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem('');
    let target = start.trim();
    if (target.startsWith('models:/')) {
      const result = await client.query(ResolveLineageUriDocument, { uri: target }, { requestPolicy: 'network-only' }).toPromise();
      const resolved = result.data?.resolveModelUri?.modelVersion.id;
      if (!resolved) {
        setProblem(result.error ? result.error.message : `Nothing at ${target}`);
        return;
      }
      target = resolved;
    }
    window.location.hash = lineageHref(target, dir, Number(hops) || 3);
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Start the graph">
      <label>Start from (URI or id)
        <input value={start} onChange={(e) => setStart(e.target.value)} placeholder="models:/churn/3" size={40} spellCheck={false} />
      </label>
      <label>Direction
        <select value={dir} onChange={(e) => setDir(e.target.value as LineageDirection)}>
          {DIRECTIONS.map((d) => <option key={d} value={d}>{d.toLowerCase()}</option>)}
        </select>
      </label>
      <label>Hops
        <input type="number" min={1} max={50} value={hops} onChange={(e) => setHops(e.target.value)} />
      </label>
      <button type="submit" className="primary">Show</button>
      {problem && <span role="alert" className="sub">{problem}</span>}
    </form>
  );
}

interface Placed { x: number; y: number; width: number; height: number }
interface Layout {
  width: number;
  height: number;
  nodes: Map<string, Placed & { rank: number }>;
  edges: Array<{ edge: LEdge; points: Array<{ x: number; y: number }>; label: Placed }>;
}

const edgeText = (edge: LEdge) => edge.kind.toLowerCase().replace(/_/g, ' ') + (edge.relation ? ` (${edge.relation})` : '');

function layoutGraph(graph: Graph, sizes: Map<string, { width: number; height: number }>): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 22, ranksep: 64, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.id, { ...(sizes.get(node.id) ?? { width: 180, height: 48 }) });
  graph.edges.forEach((edge, index) => {
    if (!g.hasNode(edge.upstreamId) || !g.hasNode(edge.downstreamId)) return;
    const measured = sizes.get(`edge:${edgeText(edge)}`);
    g.setEdge(edge.upstreamId, edge.downstreamId, {
      width: measured?.width ?? edgeText(edge).length * EDGE_FONT_PX * 0.6 + 10, height: measured?.height ?? EDGE_FONT_PX + 8,
      labelpos: 'c', index,
    }, `e${index}`);
  });
  dagre.layout(g);
  const nodes = new Map<string, Placed & { rank: number }>();
  for (const id of g.nodes()) {
    const n = g.node(id) as unknown as Placed & { rank?: number };
    nodes.set(id, { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rank: n.rank ?? 0 });
  }
  const edges = g.edges().map((e) => {
    const label = g.edge(e) as unknown as Placed & { index: number; points: Array<{ x: number; y: number }> };
    return { edge: graph.edges[label.index], points: label.points,
             label: { x: label.x - label.width / 2, y: label.y - label.height / 2, width: label.width, height: label.height } };
  });
  const size = g.graph() as { width?: number; height?: number };
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges };
}

function Explorer({ id, direction, depth }: { id: string; direction: LineageDirection; depth: number }) {
  const [{ data, error, fetching }] = useQuery({ query: LineageExplorerDocument, variables: { id, direction, depth } });
  const [selected, setSelected] = useState<string | null>(null);
  if (error && !data) return <ErrorBox error={error} />;
  if (!data) return fetching ? <Loading what="the lineage" /> : null;
  const graph = data.lineage;
  if (!graph) return <Empty>Nothing has the id <code>{id}</code>.</Empty>;
  const current = selected ?? graph.root;
  return (
    <>
      <p className="sub" data-testid="lineage-summary">
        {graph.nodes.length} nodes, {graph.edges.length} edges around <strong>{graph.nodes.find((n) => n.id === graph.root)?.label ?? id}</strong>,
        {' '}{direction.toLowerCase()} {depth} hop{depth === 1 ? '' : 's'}
        {graph.truncated && ' — there is more beyond (more hops, or explore from a node at the edge)'}
      </p>
      <div className="lineage-layout">
        <Canvas graph={graph} selected={current} onSelect={setSelected} />
        <SidePanel graph={graph} id={current} onSelect={setSelected} />
      </div>
    </>
  );
}

function NodeBody({ node }: { node: LNode }) {
  const entity = node.entity;
  return (
    <>
      <span className="lkind">{KIND_NAMES[node.kind] ?? node.kind}</span>
      <span className="llabel">{node.label}</span>
      {entity.__typename === 'ModelVersion' && (
        <span className="lbadges"><StageBadge stage={entity.stage} />{entity.status !== 'READY' && <StatusBadge status={entity.status} />}</span>
      )}
    </>
  );
}

function Canvas({ graph, selected, onSelect }: { graph: Graph; selected: string; onSelect: (id: string) => void }) {
  const measure = useRef<HTMLDivElement>(null);
  const viewport = useRef<HTMLDivElement>(null);
  const [layout, setLayout] = useState<Layout | null>(null);
  const [zoom, setZoom] = useState(0);
  // First pass: the nodes drawn off-screen at their natural size; then dagre places them with those sizes.
  useLayoutEffect(() => {
    const sizes = new Map<string, { width: number; height: number }>();
    measure.current?.querySelectorAll<HTMLElement>('[data-measure]').forEach((element) => {
      sizes.set(element.dataset.measure!, { width: Math.ceil(element.offsetWidth), height: Math.ceil(element.offsetHeight) });
    });
    const placed = layoutGraph(graph, sizes);
    setLayout(placed);
    // Zoom in (never out) so that a small graph uses the canvas; a large one keeps 100% and scrolls.
    const room = viewport.current?.clientWidth ?? placed.width;
    setZoom(Math.max(0, ZOOMS.filter((z) => placed.width * z <= room).length - 1));
  }, [graph]);
  const scale = ZOOMS[zoom];
  // The selected node (at first the start) in the middle of the view after a layout or a zoom: the canvas scrolls,
  // it never shrinks the labels to fit.
  const centreOn = useRef(selected);
  centreOn.current = selected;
  useLayoutEffect(() => {
    const node = layout?.nodes.get(centreOn.current);
    const box = viewport.current;
    if (!node || !box) return;
    box.scrollLeft = Math.max(0, (node.x + node.width / 2) * scale - box.clientWidth / 2);
    box.scrollTop = Math.max(0, (node.y + node.height / 2) * scale - box.clientHeight / 2);
  }, [layout, scale]);
  const ordered = useMemo(() => layout
    ? [...graph.nodes].sort((a, b) => {
      const pa = layout.nodes.get(a.id)!;
      const pb = layout.nodes.get(b.id)!;
      return pa.rank - pb.rank || pa.y - pb.y;
    }) : graph.nodes, [graph, layout]);
  return (
    <div className="lineage-canvas-wrap">
      <div className="zoom-bar" role="group" aria-label="Zoom">
        <button type="button" className="small" onClick={() => setZoom(Math.max(0, zoom - 1))} disabled={zoom === 0} aria-label="Zoom out">−</button>
        <span className="sub" data-testid="zoom">{Math.round(scale * 100)}%</span>
        <button type="button" className="small" onClick={() => setZoom(Math.min(ZOOMS.length - 1, zoom + 1))} disabled={zoom === ZOOMS.length - 1} aria-label="Zoom in">+</button>
        <span className="sub">Scroll or drag to pan; Tab through the nodes, Enter shows one.</span>
      </div>
      <div className="lineage-measure" ref={measure} aria-hidden="true">
        {graph.nodes.map((node) => (
          <div key={node.id} data-measure={node.id} className={`lnode kind-${node.kind.toLowerCase()}`}><NodeBody node={node} /></div>
        ))}
        {[...new Set(graph.edges.map(edgeText))].map((text) => (
          <span key={text} data-measure={`edge:${text}`} className="ledge-label">{text}</span>
        ))}
      </div>
      <div className="lineage-viewport" ref={viewport} data-testid="lineage-canvas" data-scale={scale} {...panHandlers()}>
        {layout && (
          <div style={{ width: layout.width * scale, height: layout.height * scale }}>
            <div className="lineage-stage" style={{ width: layout.width, height: layout.height, transform: `scale(${scale})` }}>
              <svg width={layout.width} height={layout.height} aria-hidden="true" className="lineage-edges">
                <defs>
                  <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M 0 0 L 10 5 L 0 10 z" fill="#7b8794" />
                  </marker>
                </defs>
                {layout.edges.map(({ edge, points }, index) => (
                  <path key={index} d={points.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' ')} markerEnd="url(#arrow)"
                        className={`ledge edge-${edge.kind.toLowerCase()}${edge.upstreamId === selected || edge.downstreamId === selected ? ' near' : ''}`} />
                ))}
              </svg>
              {layout.edges.map(({ edge, label }, index) => (
                <span key={index} className="ledge-label" aria-hidden="true" data-testid="lineage-edge-label"
                      style={{ left: label.x, top: label.y, width: label.width, height: label.height }}>{edgeText(edge)}</span>
              ))}
              {ordered.map((node) => {
                const place = layout.nodes.get(node.id)!;
                const edgesIn = graph.edges.filter((e) => e.downstreamId === node.id).length;
                const edgesOut = graph.edges.filter((e) => e.upstreamId === node.id).length;
                return (
                  <button key={node.id} type="button" data-testid="lineage-node" data-id={node.id} data-kind={node.kind}
                          data-rank={place.rank} aria-pressed={node.id === selected}
                          className={`lnode kind-${node.kind.toLowerCase()}${node.id === graph.root ? ' root' : ''}${node.id === selected ? ' selected' : ''}`}
                          style={{ left: place.x, top: place.y, width: place.width, height: place.height }}
                          onClick={() => onSelect(node.id)}>
                    <NodeBody node={node} />
                    <span className="sr-only">, {edgesIn} in, {edgesOut} out{node.id === graph.root ? ', the start' : ''}</span>
                  </button>
                );
              })}
            </div>
          </div>
        )}
      </div>
    </div>
  );
}

/** Drag the empty canvas to pan (the scrollbars, wheel and keyboard scroll as usual). */
function panHandlers() {
  let start: { x: number; y: number; left: number; top: number } | null = null;
  return {
    onPointerDown: (event: React.PointerEvent<HTMLDivElement>) => {
      if ((event.target as HTMLElement).closest('button') || event.button !== 0) return;
      const box = event.currentTarget;
      start = { x: event.clientX, y: event.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.setPointerCapture(event.pointerId);
    },
    onPointerMove: (event: React.PointerEvent<HTMLDivElement>) => {
      if (!start) return;
      event.currentTarget.scrollLeft = start.left - (event.clientX - start.x);
      event.currentTarget.scrollTop = start.top - (event.clientY - start.y);
    },
    onPointerUp: () => { start = null; },
  };
}

const safeHref = (url: string | null | undefined) => (url && /^https?:\/\//i.test(url) ? url : null);

function Link({ url }: { url: string | null | undefined }) {
  if (!url) return <>—</>;
  const href = safeHref(url);
  return href ? <a href={href} rel="noopener noreferrer" target="_blank">{url}</a> : <code>{url}</code>;
}

function Facts({ rows }: { rows: Array<[string, React.ReactNode]> }) {
  return (
    <dl className="facts" data-testid="lineage-facts">
      {rows.filter(([, value]) => value !== null && value !== undefined && value !== '').map(([key, value]) => (
        <div key={key} className="fact"><dt>{key}</dt><dd>{value}</dd></div>
      ))}
    </dl>
  );
}

function SidePanel({ graph, id, onSelect }: { graph: Graph; id: string; onSelect: (id: string) => void }) {
  const node = graph.nodes.find((n) => n.id === id);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  if (!node) return null;
  const inputs = graph.edges.filter((e) => e.downstreamId === id);
  const outputs = graph.edges.filter((e) => e.upstreamId === id);
  const neighbours = (edges: LEdge[], side: 'upstreamId' | 'downstreamId') => (
    <ul className="lineage">
      {edges.map((edge, index) => {
        const other = byId.get(edge[side]);
        return (
          <li key={index}>
            <button type="button" className="linklike" onClick={() => onSelect(edge[side])}>
              {other ? `${KIND_NAMES[other.kind] ?? other.kind} ${other.label}` : edge[side]}
            </button> <span className="sub">{edgeText(edge)}</span>
          </li>
        );
      })}
    </ul>
  );
  const entity = node.entity;
  return (
    <aside className="lineage-panel" aria-labelledby="lineage-panel-title" data-testid="lineage-panel" aria-live="polite">
      <p className="lkind">{KIND_NAMES[node.kind] ?? node.kind}{node.id === graph.root ? ' · the start' : ''}</p>
      <h2 id="lineage-panel-title" data-testid="lineage-panel-title">{node.label}</h2>
      {entity.__typename === 'ModelVersion' && <VersionDetails key={entity.id} name={entity.name} version={entity.version} />}
      {entity.__typename === 'Dataset' && (
        <Facts rows={[['Name', entity.name], ['Version', entity.datasetVersion], ['URI', entity.datasetUri && <Link url={entity.datasetUri} />],
          ['Digest', entity.digest && <code>{entity.digest}</code>], ['Format', entity.format], ['Size', entity.size != null ? formatBytes(entity.size) : null],
          ['Rows', entity.rowCount != null ? entity.rowCount.toLocaleString() : null], ['Source system', entity.sourceSystem],
          ['Registered', <Time value={entity.createdAt} />]]} />
      )}
      {entity.__typename === 'Run' && (
        <>
          <Facts rows={[['Tracker', entity.tracker], ['Run id', <code>{entity.runId}</code>], ['Run', entity.runUri && <Link url={entity.runUri} />],
            ['Experiment', entity.experimentName], ['Started', entity.startedAt && <Time value={entity.startedAt} />],
            ['Ended', entity.endedAt && <Time value={entity.endedAt} />], ['Python', entity.environment.pythonVersion],
            ['Container image', entity.environment.containerImage && <code>{entity.environment.containerImage}</code>]]} />
          <Metrics metrics={entity.metrics} />
        </>
      )}
      {entity.__typename === 'CodeCommit' && (
        <Facts rows={[['Repository', <Link url={entity.repositoryUrl} />], ['Commit', <code>{entity.commitSha}</code>],
          ['Branch', entity.branch], ['Registered', <Time value={entity.createdAt} />]]} />
      )}
      {entity.__typename === 'ExternalNode' && (
        <Facts rows={[['Name', entity.externalName], ['Category', entity.category], ['URI', entity.externalUri && <Link url={entity.externalUri} />],
          ['Description', entity.description], ['Registered', <Time value={entity.createdAt} />]]} />
      )}
      {entity.__typename === 'RedactedLineageNode' && <p className="sub">Your roles do not allow reading this node.</p>}
      <h3>Inputs ({inputs.length})</h3>
      {inputs.length ? neighbours(inputs, 'upstreamId') : <p className="sub">None in this graph.</p>}
      <h3>Outputs ({outputs.length})</h3>
      {outputs.length ? neighbours(outputs, 'downstreamId') : <p className="sub">None in this graph.</p>}
      {node.id !== graph.root && <p><a href={lineageHref(node.id)} data-testid="lineage-recentre">Explore from here</a></p>}
    </aside>
  );
}

function Metrics({ metrics }: { metrics: ReadonlyArray<{ name: string; value: number }> }) {
  if (!metrics.length) return <p className="sub">No metrics recorded.</p>;
  return (
    <table className="grid compact" data-testid="lineage-metrics">
      <caption className="sr-only">Metrics</caption>
      <thead><tr><th scope="col">Metric</th><th scope="col" className="num">Value</th></tr></thead>
      <tbody>{metrics.map((m) => <tr key={m.name}><th scope="row">{m.name}</th><td className="num">{formatMetric(m.value)}</td></tr>)}</tbody>
    </table>
  );
}

function VersionDetails({ name, version }: { name: string; version: number }) {
  const [{ data, error, fetching }] = useQuery({ query: LineageVersionDocument, variables: { name, version } });
  const mv = data?.modelVersion;
  if (error && !mv) return <ErrorBox error={error} />;
  if (!mv) return fetching ? <Loading what="the version" /> : <p className="sub">This version is gone or hidden from you.</p>;
  const files = mv.artifact?.files ?? [];
  return (
    <div data-testid="lineage-version" data-uri={mv.uri}>
      <p><StageBadge stage={mv.stage} /> <StatusBadge status={mv.status} /></p>
      <Facts rows={[['Model', <a href={modelHref(mv.name)}>{mv.name}</a>], ['URI', <code>{mv.uri}</code>],
        ['Registered', <><Time value={mv.createdAt} /> by {mv.createdBy.subject}</>],
        ['Aliases', mv.aliases.length ? mv.aliases.map((a) => `@${a.alias}`).join(' ') : null]]} />
      <p><a href={versionHref(mv.name, mv.version)} data-testid="lineage-version-link">Open the version page</a></p>
      <h3>Metrics</h3>
      <Metrics metrics={mv.metrics} />
      <h3>Files ({files.length})</h3>
      {files.length ? (
        <ul className="lineage" data-testid="lineage-files">
          {files.map((file) => (
            <li key={file.path}>
              {file.downloadUrl ? <DownloadLink url={file.downloadUrl} path={file.path} testId="lineage-file" /> : file.path}{' '}
              <span className="sub">{formatBytes(file.size)}</span>
            </li>
          ))}
        </ul>
      ) : <p className="sub">No files.</p>}
    </div>
  );
}
