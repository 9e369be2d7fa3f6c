// The same query for a few variable sets at once (the compare page): one urql query each, through the shared
// client and cache, answered in parallel.
import { useEffect, useState } from 'react';
import { useClient, type AnyVariables, type CombinedError, type TypedDocumentNode } from 'urql';

export interface QueryState<Data> {
  data?: Data;
  error?: CombinedError;
}

export function useQueries<Data, Variables extends AnyVariables>(
  query: TypedDocumentNode<Data, Variables>, variableSets: Variables[],
): QueryState<Data>[] {
  const client = useClient();
  const key = JSON.stringify(variableSets);
  const [states, setStates] = useState<QueryState<Data>[]>(() => variableSets.map(() => ({})));
  useEffect(() => {
    setStates(variableSets.map(() => ({})));
    const subscriptions = variableSets.map((variables, index) =>
      client.query(query, variables).subscribe((result) => {
        setStates((current) => current.map((state, at) => (at === index ? { data: result.data, error: result.error } : state)));
      }));
    return () => subscriptions.forEach((subscription) => subscription.unsubscribe());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, query, key]);
  return states;
}
