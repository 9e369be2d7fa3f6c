// ESLint (flat config) for the exported GraphQL schema, schema.graphql: the API 1.0 conventions checked by
// @graphql-eslint's `schema-recommended` and `schema-relay` rule sets, with options chosen for our decisions
// (docs/api-conventions.md). Run it with `npm run lint:schema`;
// tests/graphql/test_schema_lint.py runs the same script and fails listing every finding.
//
// Every departure from the two upstream rule sets is below with a one-line reason. Fix the schema rather than
// adding an exception; add one only for a deliberate decision, and say which.
import graphql from '@graphql-eslint/eslint-plugin';

const SCHEMA = 'schema.graphql';

// strict-id-in-types: output types that are not entities, so carry no global `id`. Entities implement Node.
const SUFFIXES_WITHOUT_ID = {
  Connection: 'Relay connection wrapper: its nodes carry the ids',
  Edge: 'Relay edge (and LineageEdge, an edge of the lineage graph named by its two node ids)',
  Payload: 'mutation result: it holds what changed, which carries the ids',
};
const TYPES_WITHOUT_ID = {
  PageInfo: 'Relay page position, not an entity',
  Viewer: 'the caller as seen by this request, not a stored entity',
  Actor: 'who did something: a subject and a kind, embedded in what they did',
  AuditIntegrity: 'a report computed on request',
  AuditTargetRef: 'a reference to what an audit event touched, by kind and name, embedded in the event',
  ArtifactFile: 'one file of a version, identified by its path inside that version',
  ArtifactReference: 'where a version\'s files live, part of the version',
  CodeReference: 'repository and commit of a version, part of the version',
  DatasetUse: 'how a version used a dataset, part of its reproducibility report',
  DeploymentEntry: 'one version served by a deployment revision, part of that revision',
  GateResult: 'one gate of a transition check, computed on request',
  GroupApprovals: 'one group requirement of a transition request with its tally, computed on request',
  LineageGraph: 'a query result (nodes and edges around a start node)',
  Metric: 'a named value of a version, part of the version',
  Param: 'a named value of a version, part of the version',
  ParentVersion: 'a version this one was derived from, with the relation: part of the child',
  Reproducibility: 'a report computed on request',
  ResolvedModelUri: 'what a models:/ URI points at now, computed on request',
  RunEnvironment: 'the environment of a run, part of the run',
  RunMetric: 'a named value of a run, part of the run',
  RunParam: 'a named value of a run, part of the run',
  RunReference: 'the tracker\'s own run id and URI, part of a version',
  Tag: 'a key and value on its owner',
  VersionAtTime: 'the version an alias pointed at, from when: computed for a moment asked about',
};

/**
 * `rule` reporting only inside the named root types. require-nullable-result-in-root checks Query and Mutation;
 * issue 13 makes root *query* fields nullable (a denied field is null with its error, the others keep their data)
 * and leaves mutation payloads non-null, so the Mutation half is not ours.
 */
function onlyInTypes(rule, typeNames) {
  return {
    ...rule,
    create(context) {
      const inTypes = (node) => {
        for (let at = node; at; at = at.parent) {
          if (at.kind === 'ObjectTypeDefinition' || at.kind === 'ObjectTypeExtension') {
            return typeNames.includes(at.name.value);
          }
        }
        return false;
      };
      const report = (descriptor) => {
        if (inTypes(descriptor.node)) context.report(descriptor);
      };
      return rule.create(Object.create(context, { report: { value: report } }));
    },
  };
}

const modelreg = {
  meta: { name: 'modelreg-schema-rules' },
  rules: {
    'require-nullable-result-in-query-root': onlyInTypes(graphql.rules['require-nullable-result-in-root'], ['Query']),
  },
};

export default [
  {
    files: [SCHEMA],
    languageOptions: {
      parser: graphql.parser,
      parserOptions: { graphQLConfig: { schema: SCHEMA } },
    },
    plugins: { '@graphql-eslint': graphql, modelreg },
    rules: {
      ...graphql.configs['flat/schema-recommended'].rules,
      ...graphql.configs['flat/schema-relay'].rules,

      // Every type, field, argument and enum value has a description: GraphiQL is the manual (docs/api-conventions.md).
      // Upstream requires them on types, directives and root fields only.
      '@graphql-eslint/require-description': ['error', {
        types: true,
        rootField: true,
        DirectiveDefinition: true,
        FieldDefinition: true,
        InputValueDefinition: true,
        EnumValueDefinition: true,
      }],

      '@graphql-eslint/strict-id-in-types': ['error', {
        acceptedIdNames: ['id'],
        acceptedIdTypes: ['ID'],
        exceptions: { suffixes: Object.keys(SUFFIXES_WITHOUT_ID), types: Object.keys(TYPES_WITHOUT_ID) },
      }],

      // Exception: plain lists stay where a list cannot grow without bound (tags, a version's files, both alias
      // lists `[ModelAlias!]!` in issue 13); every list that grows is a connection, which the other relay rules check.
      '@graphql-eslint/relay-edge-types': ['error', {
        withEdgeSuffix: true,
        shouldImplementNode: true,
        listTypeCanWrapOnlyEdgeType: false,
      }],

      // Every connection takes first/after AND last/before (issue 13) - the upstream default, stated.
      '@graphql-eslint/relay-arguments': ['error', { includeBoth: true }],

      // Added (not in schema-recommended): mutations take one `input:` argument of type <Mutation>Input
      // (docs/api-conventions.md). Query arguments are not checked: filters and orderings are `XFilter` / `XOrder`.
      // Case-insensitive so that createRegisteredModel takes CreateRegisteredModelInput, not createRegistered...
      '@graphql-eslint/input-name': ['error', {
        checkInputType: true,
        caseSensitiveInputType: false,
        checkQueries: false,
        checkMutations: true,
      }],

      // Added: mutations return a payload object holding what changed (docs/api-conventions.md).
      '@graphql-eslint/no-scalar-result-type-on-mutation': 'error',

      // Exception: Run.runId and Run.runUri keep the tracker's own names (MLflow's run_id, the run's URI), which is
      // what people search for; `Run.id` is the global id, so dropping the prefix would leave a confusing `Run.uri`
      // next to the tracker's id. The rule has no per-field option, so it is off.
      '@graphql-eslint/no-typename-prefix': 'off',

      // Added: root query fields are nullable (issue 13). Upstream require-nullable-result-in-root limited to
      // Query (exception: mutation payloads stay non-null), see onlyInTypes above.
      'modelreg/require-nullable-result-in-query-root': 'error',
    },
  },
];
