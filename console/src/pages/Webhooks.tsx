// Webhooks (webhook:manage): each with its events, filter and latest deliveries (status, attempts, the last answer
// or error), and a redelivery of a delivery's event; create, edit, pause and resume, ping, delete (confirmed).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import {
  CreateWebhookDocument, DeleteWebhookDocument, PingWebhookDocument, RedeliverWebhookEventDocument,
  UpdateWebhookDocument, WebhooksAllowedDocument, WebhooksDocument, type RegistryEventType, type WebhooksQuery,
} from '../generated/graphql';
import { Empty, ErrorBox, Loading, Time, usePageTitle } from '../ui';

type Hook = NonNullable<WebhooksQuery['webhooks']>['nodes'][number];
// The schema's event types (typed: a value the schema drops fails the type check).
const EVENT_TYPES: RegistryEventType[] = [
  'MODEL_CREATED', 'MODEL_UPDATED', 'MODEL_DELETED', 'MODEL_TAGS_CHANGED', 'VERSION_CREATED', 'VERSION_READY',
  'VERSION_FAILED', 'VERSION_UPDATED', 'VERSION_DELETED', 'VERSION_TAGS_CHANGED', 'ALIAS_MOVED', 'TRANSITION_REQUESTED',
  'TRANSITION_APPROVED', 'TRANSITION_REJECTED', 'TRANSITION_CANCELLED', 'TRANSITION_APPLIED', 'PRODUCTION_ROLLED_BACK',
  'DOCUMENT_ATTACHED', 'LINEAGE_CHANGED', 'DEPLOYMENT_CHANGED', 'WEBHOOK_PING',
];

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

interface Draft {
  url: string;
  secret: string;
  events: RegistryEventType[];
  modelNamePattern: string;
  description: string;
  active: boolean;
}

const blank: Draft = { url: '', secret: '', events: [], modelNamePattern: '', description: '', active: true };

/** The create and edit form. Editing leaves the secret as it is unless a new one is typed (rotation). */
function WebhookForm({ hook, onDone, onCancel }: { hook?: Hook; onDone: () => void; onCancel: () => void }) {
  const prefix = hook ? `edit-${hook.id}` : 'new-webhook';
  const [draft, setDraft] = useState<Draft>(hook ? {
    url: hook.url, secret: '', events: [...hook.events], modelNamePattern: hook.modelNamePattern ?? '',
    description: hook.description ?? '', active: hook.active,
  } : blank);
  const [error, setError] = useState<CombinedError | null>(null);
  const [{ fetching: creating }, create] = useMutation(CreateWebhookDocument);
  const [{ fetching: updating }, update] = useMutation(UpdateWebhookDocument);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  const toggle = (type: RegistryEventType) => set({
    events: draft.events.includes(type) ? draft.events.filter((e) => e !== type) : [...draft.events, type],
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const common = { url: draft.url.trim(), events: draft.events, modelNamePattern: draft.modelNamePattern.trim(),
                     description: draft.description };
    const result = hook
      ? await update({ input: { id: hook.id, ...common, ...(draft.secret ? { secret: draft.secret } : {}) } })
      : await create({ input: { ...common, modelNamePattern: common.modelNamePattern || null, secret: draft.secret,
                                active: draft.active } });
    setError(result.error ?? null);
    if (!result.error) onDone();
  };
  return (
    <form className="webhook-form" onSubmit={submit} aria-label={hook ? `Edit webhook ${hook.url}` : 'New webhook'} data-testid="webhook-form">
      <label htmlFor={`${prefix}-url`}>URL</label>
      <input id={`${prefix}-url`} type="url" required value={draft.url} placeholder="https://hooks.example.com/modelreg"
             onChange={(e) => set({ url: e.target.value })} />
      <label htmlFor={`${prefix}-secret`}>{hook ? `New signing secret (now …${hook.secretHint}; empty: keep it)` : 'Signing secret (16-256 characters)'}</label>
      <input id={`${prefix}-secret`} type="password" autoComplete="new-password" required={!hook} minLength={16} maxLength={256}
             value={draft.secret} onChange={(e) => set({ secret: e.target.value })} />
      <label htmlFor={`${prefix}-pattern`}>Models (name pattern, empty: all)</label>
      <input id={`${prefix}-pattern`} value={draft.modelNamePattern} placeholder="fraud/*"
             onChange={(e) => set({ modelNamePattern: e.target.value })} />
      <label htmlFor={`${prefix}-description`}>Description</label>
      <input id={`${prefix}-description`} value={draft.description} onChange={(e) => set({ description: e.target.value })} />
      <fieldset className="columns events">
        <legend>Events (none ticked: all)</legend>
        {EVENT_TYPES.map((type) => (
          <label key={type}><input type="checkbox" checked={draft.events.includes(type)} onChange={() => toggle(type)} /> {type}</label>
        ))}
      </fieldset>
      {!hook && (
        <label className="inline"><input type="checkbox" checked={draft.active} onChange={(e) => set({ active: e.target.checked })} /> Active (untick to create it paused)</label>
      )}
      {error && <ErrorBox error={error} title={hook ? 'The change was refused' : 'The webhook was refused'} />}
      <div className="decide">
        <button type="submit" className="primary" disabled={creating || updating} data-testid="webhook-save">{hook ? 'Save changes' : 'Create webhook'}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function WebhookList() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: WebhooksDocument });
  const [problem, setProblem] = useState<{ error: CombinedError; title: string } | null>(null);
  const [creating, setCreating] = useState(false);
  const [{ fetching: sending }, redeliver] = useMutation(RedeliverWebhookEventDocument);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const again = async (webhookId: string, eventId: string) => {
    const result = await redeliver({ input: { webhookId, eventId } });
    setProblem(result.error ? { error: result.error, title: 'The redelivery was refused' } : null);
    if (!result.error) reload();
  };
  if (error && !data) return <ErrorBox error={error} />;
  if (!data) return fetching ? <Loading what="webhooks" /> : null;
  const webhooks = data.webhooks?.nodes ?? [];
  return (
    <>
      {creating
        ? <WebhookForm onDone={() => { setCreating(false); reload(); }} onCancel={() => setCreating(false)} />
        : <p><button type="button" className="primary" onClick={() => setCreating(true)} data-testid="webhook-new">New webhook…</button></p>}
      {problem && <ErrorBox error={problem.error} title={problem.title} />}
      {!webhooks.length ? <Empty>No webhooks yet.</Empty> : (
        <ul className="requests">
          {webhooks.map((hook) => (
            <WebhookCard key={hook.id} hook={hook} sending={sending} onRedeliver={again} onChanged={reload} busy={fetching} />
          ))}
        </ul>
      )}
    </>
  );
}

function WebhookCard({ hook, sending, busy, onRedeliver, onChanged }: {
  hook: Hook; sending: boolean; busy: boolean; onRedeliver: (webhookId: string, eventId: string) => void; onChanged: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<CombinedError | null>(null);
  const [{ fetching: updating }, update] = useMutation(UpdateWebhookDocument);
  const [{ fetching: pinging }, ping] = useMutation(PingWebhookDocument);
  const [{ fetching: removing }, remove] = useMutation(DeleteWebhookDocument);
  const after = (result: { error?: CombinedError }) => {
    setError(result.error ?? null);
    if (!result.error) onChanged();
  };
  const pause = async () => after(await update({ input: { id: hook.id, active: !hook.active } }));
  const sendPing = async () => after(await ping({ input: { id: hook.id } }));
  const confirmDelete = async () => {
    const result = await remove({ input: { id: hook.id } });
    setDeleting(false);
    after(result);
  };
  return (
    <li className="request" data-testid="webhook" data-url={hook.url} data-active={hook.active}>
      <div className="request-head">
        <code>{hook.url}</code>
        <span className={`badge ${hook.active ? 'status-ready' : 'stage-archived'}`} data-testid="webhook-state">{hook.active ? 'ACTIVE' : 'PAUSED'}</span>
        <span className="sub">secret …{hook.secretHint} · by {hook.createdBy.subject}, <Time value={hook.createdAt} /></span>
      </div>
      {hook.description && <p className="description" data-testid="webhook-description">{hook.description}</p>}
      <p className="sub" data-testid="webhook-filter">Events: {hook.events.length ? hook.events.join(', ') : 'all'}{hook.modelNamePattern ? ` · models ${hook.modelNamePattern}` : ''}</p>
      <div className="decide">
        <button type="button" onClick={pause} disabled={updating} data-testid="webhook-toggle"
                aria-label={`${hook.active ? 'Pause' : 'Resume'} webhook ${hook.url}`}>{hook.active ? 'Pause' : 'Resume'}</button>
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing} data-testid="webhook-edit"
                aria-label={`Edit webhook ${hook.url}`}>Edit</button>
        <button type="button" onClick={sendPing} disabled={pinging} data-testid="webhook-ping"
                aria-label={`Send a ping to ${hook.url}`}>Ping</button>
        {!deleting && <button type="button" onClick={() => setDeleting(true)} data-testid="webhook-delete"
                              aria-label={`Delete webhook ${hook.url}`}>Delete…</button>}
        {deleting && (
          <span role="group" aria-label="Confirm the deletion" className="confirm">
            Delete this webhook and its delivery log?{' '}
            <button type="button" className="primary" onClick={confirmDelete} disabled={removing} autoFocus data-testid="webhook-delete-confirm">Delete</button>{' '}
            <button type="button" onClick={() => setDeleting(false)}>Keep</button>
          </span>
        )}
      </div>
      {error && <ErrorBox error={error} title="The change was refused" />}
      {editing && <WebhookForm hook={hook} onDone={() => { setEditing(false); onChanged(); }} onCancel={() => setEditing(false)} />}
      {hook.deliveries.nodes.length ? (
        <table className="grid compact" data-testid="deliveries" aria-busy={busy}>
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
              <td><button type="button" className="small" disabled={sending} onClick={() => onRedeliver(hook.id, delivery.eventId)}
                          data-testid="redeliver" aria-label={`Redeliver ${delivery.eventType} event ${delivery.eventId}`}>Redeliver</button></td>
            </tr>
          ))}</tbody>
        </table>
      ) : <Empty>No deliveries yet.</Empty>}
    </li>
  );
}
