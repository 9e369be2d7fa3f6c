// 2-5 versions of one model side by side: metrics and params in rows, a version per column; a row whose values
// differ is marked (and says so to screen readers), the best value of a metric is not guessed (higher is not
// always better).
import { useQueries } from '../useQueries';
import { CompareVersionDocument } from '../generated/graphql';
import { modelHref, versionHref } from '../router';
import { Empty, ErrorBox, formatMetric, Loading, StageBadge, usePageTitle } from '../ui';

export function ComparePage({ name, versions }: { name: string; versions: number[] }) {
  const heading = usePageTitle(`Compare ${name}`);
  const results = useQueries(CompareVersionDocument, versions.map((version) => ({ name, version })));
  const header = (
    <>
      <p className="crumbs"><a href="#/">Catalogue</a> / <a href={modelHref(name)}>{name}</a> /</p>
      <h1 ref={heading}>Compare versions of {name}</h1>
    </>
  );
  if (versions.length < 2 || versions.length > 5) {
    return <>{header}<Empty>Pick 2 to 5 versions on the <a href={modelHref(name)}>model page</a>.</Empty></>;
  }
  const failed = results.find((result) => result.error && !result.data);
  if (failed?.error) return <>{header}<ErrorBox error={failed.error} /></>;
  if (results.some((result) => !result.data)) return <>{header}<Loading what="the versions" /></>;
  const found = results.map((result) => result.data!.modelVersion);
  const missing = versions.filter((_, index) => !found[index]);
  if (missing.length) {
    return <>{header}<Empty>No version {missing.join(', ')} of {name}.</Empty></>;
  }
  const columns = found.map((version) => version!);
  const metricNames = [...new Set(columns.flatMap((v) => v.metrics.map((m) => m.name)))].sort();
  const paramNames = [...new Set(columns.flatMap((v) => v.params.map((p) => p.name)))].sort();
  const row = (label: string, values: string[]) => {
    const differs = new Set(values).size > 1;
    return (
      <tr key={label} className={differs ? 'differs' : undefined} data-testid="compare-row" data-differs={differs}>
        <th scope="row">{label}{differs && <span className="sr-only"> (differs)</span>}</th>
        {values.map((value, index) => <td key={index} className="num">{value}</td>)}
      </tr>
    );
  };
  return (
    <article>
      {header}
      <p className="sub">Rows whose values differ are marked <span className="differs-key">like this</span>.</p>
      <table className="grid compare" data-testid="compare">
        <caption className="sr-only">Metrics and parameters of versions {versions.join(', ')}</caption>
        <thead>
          <tr><th scope="col">Version</th>{columns.map((v) => (
            <th key={v.id} scope="col" className="num"><a href={versionHref(v.name, v.version)}>v{v.version}</a> <StageBadge stage={v.stage} /></th>
          ))}</tr>
        </thead>
        <tbody>
          <tr><th scope="row" colSpan={columns.length + 1} className="group">Metrics</th></tr>
          {metricNames.length ? metricNames.map((metric) => row(metric, columns.map((v) => {
            const found = v.metrics.find((m) => m.name === metric);
            return found ? formatMetric(found.value) : '—';
          }))) : <tr><td colSpan={columns.length + 1} className="sub">No metrics.</td></tr>}
          <tr><th scope="row" colSpan={columns.length + 1} className="group">Parameters</th></tr>
          {paramNames.length ? paramNames.map((param) => row(param, columns.map((v) => v.params.find((p) => p.name === param)?.value ?? '—')))
            : <tr><td colSpan={columns.length + 1} className="sub">No parameters.</td></tr>}
          <tr><th scope="row" colSpan={columns.length + 1} className="group">Registered</th></tr>
          {row('by', columns.map((v) => v.createdBy.subject))}
        </tbody>
      </table>
    </article>
  );
}
