// Webhooks (webhook:manage): each with its events, filter and latest deliveries (status, attempts, the last answer
// or error), and a redelivery of a delivery's event.
import { useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { RedeliverWebhookEventDocument, WebhooksAllowedDocument, WebhooksDocument } from '../generated/graphql';
import { Empty, ErrorBox, Loading, Time, usePageTitle } from '../ui';

export function WebhooksPage() {
  const heading = usePageTitle('Webhooks');
  const [{ data: allowed, error }] = useQuery({ query: WebhooksAllowedDocument });
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title" ref={heading}>Webhooks</h1>
      {error && !allowed ? <ErrorBox error={error} />
        : !allowed ? <Loading what="your permissions" />
          : !allowed.viewer?.canManageWebhooks
            ? <div className="notice denied" data-testid="denied"><h2>Not allowed</h2><p>Webhooks need the <code>webhook:manage</code> permission (the mlops role).</p></div>
            : <WebhookList />}
    </section>
  );
}

function WebhookList() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebhooksDocument });
  const [problem, setProblem] = useState<CombinedError | null>(null);
  const [{ fetching: sending }, redeliver] = useMutation(RedeliverWebhookEventDocument);
  const again = async (webhookId: string, eventId: string) => {
    const result = await redeliver({ input: { webhookId, eventId } });
    setProblem(result.error ?? null);
    if (!result.error) refetch({ requestPolicy: 'network-only' });
  };
  if (error && !data) return <ErrorBox error={error} />;
  if (!data) return fetching ? <Loading what="webhooks" /> : null;
  const webhooks = data.webhooks?.nodes ?? [];
  if (!webhooks.length) return <Empty>No webhooks. Create one with <code>createWebhook</code> (docs/events.md).</Empty>;
  return (
    <>
      {problem && <ErrorBox error={problem} title="The redelivery was refused" />}
      <ul className="requests">
        {webhooks.map((hook) => (
          <li key={hook.id} className="request" data-testid="webhook" data-url={hook.url}>
            <div className="request-head">
              <code>{hook.url}</code>
              <span className={`badge ${hook.active ? 'status-ready' : 'stage-archived'}`}>{hook.active ? 'ACTIVE' : 'PAUSED'}</span>
              <span className="sub">secret {hook.secretHint} · by {hook.createdBy.subject}, <Time value={hook.createdAt} /></span>
            </div>
            {hook.description && <p className="description">{hook.description}</p>}
            <p className="sub">Events: {hook.events.length ? hook.events.join(', ') : 'all'}{hook.modelNamePattern ? ` · models ${hook.modelNamePattern}` : ''}</p>
            {hook.deliveries.nodes.length ? (
              <table className="grid compact" data-testid="deliveries" aria-busy={fetching}>
                <caption>Latest deliveries ({hook.deliveries.totalCount ?? hook.deliveries.nodes.length} in all)</caption>
                <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col" className="num">Attempts</th><th scope="col">Last answer</th><th scope="col">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
                <tbody>{hook.deliveries.nodes.map((delivery) => (
                  <tr key={delivery.id} data-testid="delivery" data-status={delivery.status}>
                    <td>{delivery.eventType}</td>
                    <td><span className={`badge status-${delivery.status === 'DELIVERED' ? 'ready' : delivery.status === 'DEAD' ? 'failed' : 'pending'}`}>{delivery.status}</span></td>
                    <td className="num">{delivery.attempts}</td>
                    <td>{delivery.lastStatusCode != null ? `HTTP ${delivery.lastStatusCode}` : ''}{delivery.lastLatencyMs != null ? ` in ${delivery.lastLatencyMs} ms` : ''}{delivery.lastError ? ` ${delivery.lastError}` : ''}
                      {delivery.nextAttemptAt && <span className="sub"> next try <Time value={delivery.nextAttemptAt} /></span>}</td>
                    <td><Time value={delivery.createdAt} /></td>
                    <td><button type="button" className="small" disabled={sending} onClick={() => again(hook.id, delivery.eventId)}
                                data-testid="redeliver" aria-label={`Redeliver ${delivery.eventType} event ${delivery.eventId}`}>Redeliver</button></td>
                  </tr>
                ))}</tbody>
              </table>
            ) : <Empty>No deliveries yet.</Empty>}
          </li>
        ))}
      </ul>
    </>
  );
}
