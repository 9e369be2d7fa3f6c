// Hash routes, so the server serves one page at / and model names with '/' need no escaping rules of its own:
//   #/?q=&tag=&owner=&stage=&sort=&after=&before=   catalogue
//   #/models/NAME                                    model (NAME URI-encoded)
//   #/models/NAME/versions/N                         version
//   #/models/NAME/compare?v=1,2,3                    2-5 versions side by side
//   #/inbox                                          approvals inbox
//   #/audit                                          audit log (audit:read)
//   #/deployments                                    deployments per environment
//   #/webhooks                                       webhooks and deliveries (webhook:manage)
//   #/lineage?id=ID&direction=BOTH&depth=3           the lineage explorer around a node
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'catalogue'; params: URLSearchParams }
  | { page: 'model'; name: string }
  | { page: 'version'; name: string; version: number }
  | { page: 'inbox' }
  | { page: 'audit' }
  | { page: 'deployments' }
  | { page: 'webhooks' }
  | { page: 'lineage'; params: URLSearchParams }
  | { page: 'compare'; name: string; versions: number[] }
  | { page: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { page: 'catalogue', params: new URLSearchParams(query) };
  if (parts[0] === 'inbox' && parts.length === 1) return { page: 'inbox' };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit' };
  if (parts[0] === 'deployments' && parts.length === 1) return { page: 'deployments' };
  if (parts[0] === 'webhooks' && parts.length === 1) return { page: 'webhooks' };
  if (parts[0] === 'lineage' && parts.length === 1) return { page: 'lineage', params: new URLSearchParams(query) };
  if (parts[0] === 'models' && parts.length === 2) return { page: 'model', name: decodeURIComponent(parts[1]) };
  if (parts[0] === 'models' && parts.length === 3 && parts[2] === 'compare') {
    const versions = (new URLSearchParams(query).get('v') || '').split(',').filter((v) => /^\d+$/.test(v)).map(Number);
    return { page: 'compare', name: decodeURIComponent(parts[1]), versions };
  }
  if (parts[0] === 'models' && parts.length === 4 && parts[2] === 'versions' && /^\d+$/.test(parts[3])) {
    return { page: 'version', name: decodeURIComponent(parts[1]), version: Number(parts[3]) };
  }
  return { page: 'missing', path };
}

export const modelHref = (name: string) => `#/models/${encodeURIComponent(name)}`;
export const versionHref = (name: string, version: number) => `${modelHref(name)}/versions/${version}`;
export const compareHref = (name: string, versions: number[]) => `${modelHref(name)}/compare?v=${versions.join(',')}`;
export function lineageHref(id: string, direction = 'BOTH', depth = 3): string {
  return `#/lineage?${new URLSearchParams({ id, direction, depth: String(depth) }).toString()}`;
}
export function catalogueHref(params: Record<string, string>): string {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== '')).toString();
  return query ? `#/?${query}` : '#/';
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
