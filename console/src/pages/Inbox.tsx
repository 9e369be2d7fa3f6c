// The approvals inbox: open requests; each shows approve / reject only when viewer.can allows it for that request.
// New requests appear live: the events subscription (graphql-ws, with a bearer token) or, on a browser session
// whose cookie the WebSocket cannot carry, a poll every 10 s.
import { useEffect } from 'react';
import { useQuery, useSubscription } from 'urql';
import { currentToken } from '../auth';
import { InboxDocument, TransitionEventsDocument } from '../generated/graphql';
import { Empty, ErrorBox, Loading, usePageTitle } from '../ui';
import { RequestCard } from './Requests';

export function InboxPage() {
  const heading = usePageTitle('Approvals');
  const [{ data, error, fetching }, refetch] = useQuery({ query: InboxDocument, variables: { first: 50 } });
  const refresh = () => refetch({ requestPolicy: 'network-only' });
  const live = Boolean(currentToken());
  const [{ data: event }] = useSubscription({ query: TransitionEventsDocument, pause: !live });
  const lastSequence = event?.events.sequence;
  useEffect(() => {
    if (lastSequence != null) refetch({ requestPolicy: 'network-only' });
  }, [lastSequence, refetch]);
  useEffect(() => {
    if (live) return undefined;
    const timer = window.setInterval(() => refetch({ requestPolicy: 'network-only' }), 10000);
    return () => window.clearInterval(timer);
  }, [live, refetch]);
  const requests = (data?.transitionRequests?.nodes ?? []).filter((request) => request.status === 'PENDING');
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title" ref={heading}>Approvals</h1>
      <p className="sub" data-testid="live">{live ? 'New requests appear here live.' : 'Refreshed every 10 seconds.'}</p>
      {error && !data ? <ErrorBox error={error} />
        : !data ? (fetching ? <Loading what="open requests" /> : null)
          : requests.length === 0 ? <Empty><p>No open requests. Nothing waits for a decision.</p></Empty>
            : <ul className="requests" data-testid="inbox">{requests.map((request) => (
                <RequestCard key={request.id} request={request} onChanged={refresh} showVersion />
              ))}</ul>}
    </section>
  );
}
