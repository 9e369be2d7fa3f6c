// Deployments per environment: what each serves with its traffic shares (primary, canary, shadows), its history,
// and a rollback to the revision before, confirmed in place and guarded by the revision seen (expectedRevision).
import { useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import {
  DeploymentHistoryDocument, DeploymentsDocument, RollbackDeploymentDocument, type DeploymentFieldsFragment,
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
