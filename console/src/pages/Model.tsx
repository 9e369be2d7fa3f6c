// A model: its fields, aliases, tags and versions with the metric columns the viewer picks.
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { ModelDeploymentsDocument, ModelPageDocument } from '../generated/graphql';
import { compareHref, versionHref } from '../router';
import { Empty, ErrorBox, formatMetric, Loading, StageBadge, StatusBadge, Tags, Time, usePageTitle } from '../ui';

const PAGE = 50;

export function ModelPage({ name }: { name: string }) {
  const heading = usePageTitle(name);
  const [{ data, error, fetching }] = useQuery({ query: ModelPageDocument, variables: { name, first: PAGE } });
  const model = data?.registeredModel;
  const versions = model?.versions.nodes ?? [];
  const metricNames = useMemo(
    () => [...new Set(versions.flatMap((v) => v.metrics.map((m) => m.name)))].sort(),
    [versions],
  );
  const [chosen, setChosen] = useState<string[] | null>(null);
  const [picked, setPicked] = useState<number[]>([]);
  const [{ data: deployed }] = useQuery({ query: ModelDeploymentsDocument, variables: { name } });
  const deployments = (deployed?.deployments?.edges ?? []).map((edge) => edge.node);
  const whereDeployed = (version: number) => deployments.flatMap((deployment) => deployment.entries
    .filter((entry) => entry.version === version)
    .map((entry) => `${deployment.environment} ${entry.role.toLowerCase()} ${entry.trafficPercent}%`));
  const columns = chosen ?? metricNames.slice(0, 3);

  if (error && !data) return <><h1 ref={heading}>{name}</h1><ErrorBox error={error} /></>;
  if (!model) {
    if (fetching) return <Loading what="the model" />;
    return (
      <div className="notice" data-testid="not-found">
        <h1 ref={heading}>No model named “{name}”</h1>
        <p>It does not exist, or was deleted. Back to the <a href="#/">catalogue</a>.</p>
      </div>
    );
  }
  const toggle = (metric: string) =>
    setChosen(columns.includes(metric) ? columns.filter((m) => m !== metric) : [...columns, metric]);
  return (
    <article aria-labelledby="model-title">
      <p className="crumbs"><a href="#/">Catalogue</a> /</p>
      <h1 id="model-title" ref={heading} data-testid="model-name">{model.name}</h1>
      {model.description && <p className="description" data-testid="description">{model.description}</p>}
      <dl className="facts">
        <dt>Owner</dt><dd>{model.owner}</dd>
        <dt>URI</dt><dd><code>{model.uri}</code></dd>
        {model.useCase && <><dt>Use case</dt><dd>{model.useCase}</dd></>}
        {model.riskTier && <><dt>Risk tier</dt><dd>{model.riskTier}</dd></>}
        {model.regulatoryStatus && <><dt>Regulatory status</dt><dd>{model.regulatoryStatus}</dd></>}
        <dt>Created</dt><dd><Time value={model.createdAt} /> by {model.createdBy.subject}</dd>
        <dt>Updated</dt><dd><Time value={model.updatedAt} /></dd>
      </dl>
      <Tags tags={model.tags} />
      <h2>Aliases</h2>
      {model.aliases.length
        ? <ul className="aliases" data-testid="aliases">{model.aliases.map((alias) => (
            <li key={alias.id}><span className="alias">@{alias.alias}</span> → <a href={versionHref(model.name, alias.version)}>version {alias.version}</a> <code>{alias.uri}</code></li>
          ))}</ul>
        : <Empty>No aliases. Set one with <code>setModelAlias</code> or <code>modelreg alias</code>.</Empty>}
      <h2>Versions <span className="count">({model.versions.totalCount ?? versions.length})</span></h2>
      {metricNames.length > 0 && (
        <fieldset className="columns">
          <legend>Metric columns</legend>
          {metricNames.map((metric) => (
            <label key={metric}><input type="checkbox" checked={columns.includes(metric)} onChange={() => toggle(metric)} /> {metric}</label>
          ))}
        </fieldset>
      )}
      {versions.length > 1 && (
        <div className="compare-bar">
          {picked.length >= 2 && picked.length <= 5
            ? <a href={compareHref(model.name, [...picked].sort((a, b) => a - b))} data-testid="compare-link">Compare versions {[...picked].sort((a, b) => a - b).join(', ')}</a>
            : <span className="sub">Tick 2 to 5 versions to compare them.</span>}
        </div>
      )}
      {versions.length === 0
        ? <Empty>No versions yet. Register one with <code>createModelVersion</code> or <code>modelreg push</code>.</Empty>
        : (
          <table className="grid" data-testid="model-versions">
            <caption className="sr-only">Versions of {model.name}</caption>
            <thead><tr>
              <th scope="col"><span className="sr-only">Compare</span></th>
              <th scope="col">Version</th><th scope="col">Stage</th><th scope="col">Status</th><th scope="col">Aliases</th>
              {columns.map((metric) => <th key={metric} scope="col" className="num">{metric}</th>)}
              <th scope="col">Deployed</th>
              <th scope="col">Created</th>
            </tr></thead>
            <tbody>
              {versions.map((version) => (
                <tr key={version.id} data-testid="version-row">
                  <td><input type="checkbox" aria-label={`Compare v${version.version}`} checked={picked.includes(version.version)}
                             onChange={() => setPicked(picked.includes(version.version) ? picked.filter((v) => v !== version.version) : [...picked, version.version])} /></td>
                  <th scope="row"><a href={versionHref(model.name, version.version)}>v{version.version}</a></th>
                  <td><StageBadge stage={version.stage} /></td>
                  <td><StatusBadge status={version.status} /></td>
                  <td>{version.aliases.map((alias) => <span key={alias.id} className="alias">@{alias.alias}</span>)}</td>
                  {columns.map((metric) => {
                    const found = version.metrics.find((m) => m.name === metric);
                    return <td key={metric} className="num" data-metric={metric}>{found ? formatMetric(found.value) : '—'}</td>;
                  })}
                  <td data-testid="deployed">{whereDeployed(version.version).map((text) => <span key={text} className="deployed">{text}</span>)}</td>
                  <td><Time value={version.createdAt} /> <span className="sub">by {version.createdBy.subject}</span></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {model.versions.pageInfo.hasNextPage && <p className="sub">Showing the newest {PAGE}.</p>}
    </article>
  );
}
