// Deployments per environment: what each serves with its traffic shares (primary, canary, shadows), its history,
// a rollback to the revision before, and canary controls (start, change the share, promote, abort; promote and abort
// confirmed in place), each guarded by the revision seen (expectedRevision).
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import {
  AbortCanaryDocument, DeploymentHistoryDocument, DeploymentsDocument, PromoteCanaryDocument, RollbackDeploymentDocument,
  SetCanaryTrafficDocument, StartCanaryDocument, type DeploymentFieldsFragment,
} from '../generated/graphql';
import { modelHref, versionHref } from '../router';
import { Empty, ErrorBox, Loading, Time, usePageTitle } from '../ui';

export function DeploymentsPage() {
  const heading = usePageTitle('Deployments');
  const [{ data, error, fetching }, refetch] = useQuery({ query: DeploymentsDocument, variables: { first: 100 } });
  const deployments = data?.deployments?.nodes ?? [];
  const environments = [...new Set(deployments.map((d) => d.environment))];
  return (
    <section aria-labelledby="deployments-title">
      <h1 id="deployments-title" ref={heading}>Deployments</h1>
      {error && !data ? <ErrorBox error={error} />
        : !data ? (fetching ? <Loading what="deployments" /> : null)
          : deployments.length === 0 ? <Empty>Nothing is deployed. Deploy with <code>deploy</code> (mlops).</Empty>
            : environments.map((environment) => (
              <section key={environment} aria-labelledby={`env-${environment}`} data-testid="environment">
                <h2 id={`env-${environment}`}>{environment}</h2>
                <ul className="requests">
                  {deployments.filter((d) => d.environment === environment).map((deployment) => (
                    <DeploymentCard key={deployment.id} deployment={deployment} canRollback={data.viewer?.canDeploy === true}
                                    onChanged={() => refetch({ requestPolicy: 'network-only' })} />
                  ))}
                </ul>
              </section>
            ))}
    </section>
  );
}

function Entries({ entries, name }: { entries: DeploymentFieldsFragment['entries']; name: string }) {
  return (
    <ul className="entries">
      {entries.map((entry) => (
        <li key={`${entry.role}-${entry.version}`} data-testid="entry">
          <a href={versionHref(name, entry.version)}>v{entry.version}</a> {entry.role.toLowerCase()} {entry.trafficPercent}%
          <span className="share" aria-hidden="true"><span style={{ width: `${entry.trafficPercent}%` }} /></span>
        </li>
      ))}
    </ul>
  );
}

function DeploymentCard({ deployment, canRollback, onChanged }: {
  deployment: DeploymentFieldsFragment; canRollback: boolean; onChanged: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<CombinedError | null>(null);
  const [{ fetching }, rollback] = useMutation(RollbackDeploymentDocument);
  const [{ data: history }, reload] = useQuery({
    query: DeploymentHistoryDocument, variables: { name: deployment.name, environment: deployment.environment }, pause: !open,
  });
  const confirm = async () => {
    const result = await rollback({ input: { name: deployment.name, environment: deployment.environment, expectedRevision: deployment.revision } });
    setError(result.error ?? null);
    setConfirming(false);
    if (!result.error) {
      onChanged();
      if (open) reload({ requestPolicy: 'network-only' });
    }
  };
  return (
    <li className="request" data-testid="deployment" data-name={deployment.name} data-revision={deployment.revision}>
      <div className="request-head">
        <a href={modelHref(deployment.name)}>{deployment.name}</a>
        <span className="sub">revision {deployment.revision}, <Time value={deployment.updatedAt} /> by {deployment.updatedBy.subject}</span>
      </div>
      <Entries entries={deployment.entries} name={deployment.name} />
      <div className="decide">
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? 'Hide history' : 'History'}</button>
        {canRollback && deployment.revision > 1 && !confirming && (
          <button type="button" onClick={() => setConfirming(true)} data-testid="rollback">Roll back…</button>
        )}
        {confirming && (
          <span role="group" aria-label="Confirm the rollback" className="confirm">
            Roll {deployment.name} in {deployment.environment} back to the revision before {deployment.revision}?{' '}
            <button type="button" className="primary" onClick={confirm} disabled={fetching} data-testid="rollback-confirm" autoFocus>Confirm rollback</button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>Keep</button>
          </span>
        )}
      </div>
      {error && <ErrorBox error={error} title="The rollback was refused" />}
      {canRollback && <CanaryControls deployment={deployment} onChanged={() => { onChanged(); if (open) reload({ requestPolicy: 'network-only' }); }} />}
      {open && (history?.deployment
        ? (
          <ol className="history" data-testid="deployment-history">
            {history.deployment.history.nodes.map((revision) => (
              <li key={revision.id}>#{revision.revision} {revision.action} <Time value={revision.changedAt} /> by {revision.changedBy.subject}:{' '}
                {revision.entries.map((e) => `v${e.version} ${e.role.toLowerCase()} ${e.trafficPercent}%`).join(', ') || 'nothing'}</li>
            ))}
          </ol>
        ) : <Loading what="the history" />)}
    </li>
  );
}

type Confirming = 'promote' | 'abort' | null;

/** Start a canary (a version and its share), change its share, promote it (confirmed) or abort it (confirmed). */
function CanaryControls({ deployment, onChanged }: { deployment: DeploymentFieldsFragment; onChanged: () => void }) {
  const canary = deployment.entries.find((entry) => entry.role === 'CANARY');
  const primary = deployment.entries.find((entry) => entry.role === 'PRIMARY');
  const [version, setVersion] = useState('');
  const [percent, setPercent] = useState(String(canary?.trafficPercent ?? 10));
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [error, setError] = useState<{ error: CombinedError; title: string } | null>(null);
  const [{ fetching: starting }, start] = useMutation(StartCanaryDocument);
  const [{ fetching: shifting }, shift] = useMutation(SetCanaryTrafficDocument);
  const [{ fetching: promoting }, promote] = useMutation(PromoteCanaryDocument);
  const [{ fetching: aborting }, abort] = useMutation(AbortCanaryDocument);
  const target = { name: deployment.name, environment: deployment.environment, expectedRevision: deployment.revision };
  const id = `canary-${deployment.id}`;
  const done = (title: string, result: { error?: CombinedError }) => {
    setError(result.error ? { error: result.error, title } : null);
    setConfirming(null);
    if (!result.error) onChanged();
  };
  const submitStart = async (event: FormEvent) => {
    event.preventDefault();
    done('The canary was refused', await start({ input: { ...target, version: Number(version), percent: Number(percent) } }));
  };
  const submitShare = async (event: FormEvent) => {
    event.preventDefault();
    done('The new share was refused', await shift({ input: { ...target, percent: Number(percent) } }));
  };
  return (
    <div className="canary" data-testid="canary-controls">
      {!canary ? (
        <form className="canary-form" onSubmit={submitStart} aria-label={`Start a canary of ${deployment.name} in ${deployment.environment}`}>
          <label htmlFor={`${id}-version`}>Canary version</label>
          <input id={`${id}-version`} type="number" min={1} required value={version} onChange={(e) => setVersion(e.target.value)}
                 data-testid="canary-version" />
          <label htmlFor={`${id}-percent`}>Share %</label>
          <input id={`${id}-percent`} type="number" min={1} max={99} required value={percent} onChange={(e) => setPercent(e.target.value)}
                 data-testid="canary-percent" />
          <button type="submit" disabled={starting} data-testid="canary-start">Start canary</button>
        </form>
      ) : (
        <>
          <form className="canary-form" onSubmit={submitShare} aria-label={`Canary v${canary.version} of ${deployment.name} in ${deployment.environment}`}>
            <label htmlFor={`${id}-percent`}>Canary v{canary.version} share %</label>
            <input id={`${id}-percent`} type="number" min={1} max={99} required value={percent} onChange={(e) => setPercent(e.target.value)}
                   data-testid="canary-percent" />
            <button type="submit" disabled={shifting} data-testid="canary-set">Set share</button>
            {confirming === null && (
              <>
                <button type="button" onClick={() => setConfirming('promote')} data-testid="canary-promote">Promote…</button>
                <button type="button" onClick={() => setConfirming('abort')} data-testid="canary-abort">Abort…</button>
              </>
            )}
          </form>
          {confirming && (
            <p role="group" aria-label={`Confirm: ${confirming} the canary`} className="confirm">
              {confirming === 'promote'
                ? `Send all of ${deployment.name}'s traffic in ${deployment.environment} to v${canary.version}${primary ? ` (replacing v${primary.version})` : ''}?`
                : `Remove canary v${canary.version}: its ${canary.trafficPercent}% goes back to ${primary ? `v${primary.version}` : 'the primary'}?`}{' '}
              <button type="button" className="primary" autoFocus data-testid="canary-confirm" disabled={promoting || aborting}
                      onClick={async () => confirming === 'promote'
                        ? done('The promotion was refused', await promote({ input: target }))
                        : done('The abort was refused', await abort({ input: target }))}>
                {confirming === 'promote' ? 'Confirm promotion' : 'Confirm abort'}
              </button>{' '}
              <button type="button" onClick={() => setConfirming(null)}>Keep</button>
            </p>
          )}
        </>
      )}
      {error && <ErrorBox error={error.error} title={error.title} />}
    </div>
  );
}
