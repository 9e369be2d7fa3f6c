// Transition requests, with approve / reject / cancel shown only when viewer.can says the viewer may, for that
// request (approve covers reject).
import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import {
  ApproveRequestDocument, CancelRequestDocument, RejectRequestDocument, RequestPermissionsDocument,
  type RequestFieldsFragment,
} from '../generated/graphql';
import { versionHref } from '../router';
import { ErrorBox, StageBadge, StatusBadge, Time } from '../ui';

export function RequestCard({ request, onChanged, showVersion = false, children }: {
  request: RequestFieldsFragment; onChanged: () => void; showVersion?: boolean; children?: ReactNode;
}) {
  const open = request.status === 'PENDING' || request.status === 'APPROVED';
  const [{ data: rights }, recheck] = useQuery({
    query: RequestPermissionsDocument, variables: { id: request.id }, pause: !open, requestPolicy: 'network-only',
  });
  const [comment, setComment] = useState('');
  const [error, setError] = useState<CombinedError | null>(null);
  const [approveState, approve] = useMutation(ApproveRequestDocument);
  const [rejectState, reject] = useMutation(RejectRequestDocument);
  const [cancelState, cancel] = useMutation(CancelRequestDocument);
  const busy = approveState.fetching || rejectState.fetching || cancelState.fetching;
  const act = async (which: 'approve' | 'reject' | 'cancel', event?: FormEvent) => {
    event?.preventDefault();
    const input = { id: request.id, comment: comment.trim() || null };
    const result = which === 'approve' ? await approve({ input })
      : which === 'reject' ? await reject({ input: { id: request.id, comment: comment.trim() } })
        : await cancel({ input });
    setError(result.error ?? null);
    if (!result.error) {
      setComment('');
      recheck({ requestPolicy: 'network-only' });
      onChanged();
    }
  };
  const canApprove = open && rights?.viewer?.canApprove === true;
  const canCancel = open && rights?.viewer?.canCancel === true;
  const target = request.kind === 'ALIAS' ? `@${request.alias}` : request.toStage;
  const failed = request.gateResults.filter((gate) => !gate.passed);
  return (
    <li className="request" data-testid="request" data-request-id={request.id} data-kind={request.kind} data-status={request.status}>
      <div className="request-head">
        {showVersion && <a href={versionHref(request.name, request.version)}>{request.name} v{request.version}</a>}
        <span><StageBadge stage={request.fromStage} /> → {request.kind === 'ALIAS' ? <span className="alias">{target}</span> : <StageBadge stage={String(target)} />}</span>
        <StatusBadge status={request.status} />
        <span className="sub">by {request.requestedBy.subject}, <Time value={request.requestedAt} /> · {request.approvals.totalCount ?? 0}/{request.requiredApprovals} approvals</span>
      </div>
      {request.comment && <p className="comment">“{request.comment}”</p>}
      {request.gateResults.length > 0 && (
        <ul className="gates" aria-label="Gate results">
          {request.gateResults.map((gate) => (
            <li key={gate.gate} className={gate.passed ? 'pass' : 'fail'}>{gate.passed ? '✓' : '✗'} {gate.gate}: {gate.detail}</li>
          ))}
        </ul>
      )}
      {children}
      {request.resolvedAt && (
        <p className="sub">{request.status.toLowerCase()} by {request.resolvedBy?.subject ?? '?'} <Time value={request.resolvedAt} />{request.resolutionComment ? `: “${request.resolutionComment}”` : ''}</p>
      )}
      {(canApprove || canCancel) && (
        <form className="decide" onSubmit={(event) => act(canApprove ? 'approve' : 'cancel', event)}>
          <label>Comment <input value={comment} onChange={(event) => setComment(event.target.value)} data-testid="decision-comment" /></label>
          {canApprove && <button type="submit" className="primary" disabled={busy} data-testid="approve">Approve</button>}
          {canApprove && <button type="button" disabled={busy || !comment.trim()} onClick={() => act('reject')} data-testid="reject"
                                 title={comment.trim() ? undefined : 'A rejection needs a comment'}>Reject</button>}
          {canCancel && <button type="button" disabled={busy} onClick={() => act('cancel')} data-testid="cancel">Cancel request</button>}
          {failed.length > 0 && canApprove && <span className="sub">Gates failed last time: approving retries them.</span>}
        </form>
      )}
      {error && <ErrorBox error={error} title="The decision was refused" />}
    </li>
  );
}
