// The operations the Relay check compiles (relay-compiler reads these graphql`` templates; nothing imports this
// file). The compiler's naming rules: operations start with the module name (this file's), fragments are
// <Module>_<prop>, a connection key ends with the field name.
/* global graphql */

// @refetchable makes relay-compiler generate ClientsRelayModelRefetchQuery: `node(id: $id) { ...ClientsRelay_model }`.
graphql`
  fragment ClientsRelay_model on RegisteredModel @refetchable(queryName: "ClientsRelayModelRefetchQuery") {
    id
    name
    description
  }
`;

graphql`
  query ClientsRelayModelsQuery(
    $first: Int!
    $after: String
    $filter: RegisteredModelFilter
    $orderBy: RegisteredModelOrder
  ) {
    registeredModels(first: $first, after: $after, filter: $filter, orderBy: $orderBy)
      @connection(key: "ClientsRelayModelsQuery_registeredModels") {
      totalCount
      edges {
        node {
          id
          name
          ...ClientsRelay_model
        }
      }
    }
  }
`;

graphql`
  mutation ClientsRelayCreateModelMutation($input: CreateRegisteredModelInput!) {
    createRegisteredModel(input: $input) {
      registeredModel {
        id
        name
        ...ClientsRelay_model
      }
    }
  }
`;
