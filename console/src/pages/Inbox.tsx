// The approvals inbox: open requests; each shows approve / reject only when viewer.can allows it for that request.
// New requests appear live: the events subscription (graphql-ws, authenticated by the bearer token or the browser
// session cookie); while no live connection is up (refused, closed), a poll every 10 s.
import { useEffect } from 'react';
import { useQuery, useSubscription } from 'urql';
import { useLiveState } from '../client';
import { InboxDocument, TransitionEventsDocument } from '../generated/graphql';
import { Empty, ErrorBox, formatMetric, Loading, usePageTitle } from '../ui';
import { RequestCard } from './Requests';

export function InboxPage() {
  const heading = usePageTitle('Approvals');
  const [{ data, error, fetching }, refetch] = useQuery({ query: InboxDocument, variables: { first: 50 } });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const [{ data: event, error: liveError }] = useSubscription({ query: TransitionEventsDocument });
  const state = useLiveState();
  const live = state === 'connected' && !liveError;
  const polling = !live && state !== 'connecting' && state !== 'idle';
  const lastSequence = event?.events.sequence;
  useEffect(() => {
    if (lastSequence != null) refetch({ requestPolicy: 'network-only' });
  }, [lastSequence, refetch]);
  useEffect(() => {
    if (!polling) return undefined;
    const timer = window.setInterval(() => refetch({ requestPolicy: 'network-only' }), 10000);
    return () => window.clearInterval(timer);
  }, [polling, refetch]);
  const requests = (data?.transitionRequests?.nodes ?? []).filter((request) => request.status === 'PENDING');
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title" ref={heading}>Approvals</h1>
      <p className="sub" data-testid="live" data-live={state}>
        {live ? 'New requests appear here live.' : polling ? 'Refreshed every 10 seconds (no live connection).' : 'Connecting for live updates…'}
      </p>
      {error && !data ? <ErrorBox error={error} />
        : !data ? (fetching ? <Loading what="open requests" /> : null)
          : requests.length === 0 ? <Empty><p>No open requests. Nothing waits for a decision.</p></Empty>
            : <ul className="requests" data-testid="inbox">{requests.map((request) => (
                <RequestCard key={request.id} request={request} onChanged={refresh} showVersion>
                  {request.kind === 'STAGE' && request.toStage === 'PRODUCTION' && request.modelVersion && (
                    <Replaces candidate={request.modelVersion} current={request.modelVersion.model.production}
                      where="in PRODUCTION" />
                  )}
                  {request.kind === 'ALIAS' && request.alias && request.modelVersion && (
                    <Replaces candidate={request.modelVersion} where={`as @${request.alias}`}
                      current={request.modelVersion.model.aliases.find((held) => held.alias === request.alias)?.modelVersion ?? null} />
                  )}
                </RequestCard>
              ))}</ul>}
    </section>
  );
}

type Metrics = ReadonlyArray<{ name: string; value: number }>;
type Held = { version: number; metrics: Metrics };

/** The candidate's metrics beside those of the version it would replace (in PRODUCTION, or under the alias). */
function Replaces({ candidate, current, where }: { candidate: Held; current: Held | null; where: string }) {
  if (!current) return <p className="sub" data-testid="replaces">No version is {where}: nothing is replaced.</p>;
  const names = [...new Set([...candidate.metrics, ...current.metrics].map((m) => m.name))].sort();
  const value = (metrics: Metrics, name: string) => {
    const found = metrics.find((m) => m.name === name);
    return found ? formatMetric(found.value) : '—';
  };
  return (
    <table className="grid compact replaces" data-testid="replaces">
      <caption>Replaces v{current.version} {where}</caption>
      <thead><tr><th scope="col">Metric</th><th scope="col" className="num">v{candidate.version} (requested)</th><th scope="col" className="num">v{current.version} (now)</th></tr></thead>
      <tbody>{names.map((name) => (
        <tr key={name}><th scope="row">{name}</th><td className="num">{value(candidate.metrics, name)}</td><td className="num">{value(current.metrics, name)}</td></tr>
      ))}</tbody>
    </table>
  );
}
