// Mounts GraphiQL on /graphql. Loaded as a file: the page's Content-Security-Policy allows no
// inline script.
"use strict";

(function () {
  const DEFAULT_QUERY = `# GoCRM GraphQL API.
#
# Paste your API key into the Headers tab below:
#   {"Authorization": "Bearer <key>"}
# It stays in this tab only.
#
# Run a query with Ctrl-Enter.

{
  viewer {
    location { name currency timezone }
    apiKey { name role }
  }
}
`;

  // GraphiQL 3.8.3 keeps each run in its history ("graphiql:queries", "graphiql:favorites")
  // with the headers it was sent with, whatever shouldPersistHeaders says: take them out
  // before anything reaches localStorage.
  const HISTORY_KEYS = ["graphiql:queries", "graphiql:favorites"];
  const NAMESPACE = "graphiql:";

  function withoutHeaders(value) {
    const stored = JSON.parse(value);
    for (const items of Object.values(stored)) {
      if (Array.isArray(items)) {
        for (const item of items) delete item.headers;
      }
    }
    return JSON.stringify(stored);
  }

  function ownKeys() {
    return Object.keys(localStorage).filter((key) => key.startsWith(NAMESPACE));
  }

  const storage = {
    getItem: (key) => localStorage.getItem(key),
    setItem: (key, value) =>
      localStorage.setItem(key, HISTORY_KEYS.includes(key) ? withoutHeaders(value) : value),
    removeItem: (key) => localStorage.removeItem(key),
    clear: () => ownKeys().forEach((key) => localStorage.removeItem(key)),
    get length() {
      return ownKeys().length;
    },
  };

  const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      // An ADMIN key pasted into the headers must not outlive the tab: keep headers out of
      // localStorage.
      shouldPersistHeaders: false,
    }),
  );
})();
