// GraphiQL on this API: queries and mutations over HTTP on this page's own URL, subscriptions over
// WebSocket on the same path. Served as a file, not inline, so the page's CSP allows no inline script.
(function () {
  'use strict';

  var endpoint = location.origin + location.pathname;
  var socketUrl = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + location.pathname;
  // The headers the server reads from connection_init's payload (transport/websocket.py).
  var CREDENTIALS = ['authorization', 'x-api-key'];

  var DEFAULT_QUERY = [
    '# SwipeSavvy GraphQL API',
    '#',
    '# Sign in: mint a development token with',
    '#   .venv/bin/python server.py token --help',
    '# and type it in the Headers tab below as',
    '#   {"Authorization": "Bearer <token>"}',
    '#',
    '# Queries and mutations go over HTTP. A subscription',
    '# opens a WebSocket that signs in with the same header;',
    '# each event it pushes replaces the result on the right.',
    '#',
    '# Run: Ctrl-Enter or the play button (it also stops a',
    '# subscription).',
    '',
    '{',
    '  me {',
    '    email',
    '    role',
    '  }',
    '  merchantCategories {',
    '    name',
    '  }',
    '}',
    '',
  ].join('\n');

  function credentialsOf(headers) {
    var found = {};
    Object.keys(headers || {}).forEach(function (name) {
      if (CREDENTIALS.indexOf(name.toLowerCase()) >= 0 && typeof headers[name] === 'string') {
        found[name.toLowerCase() === 'authorization' ? 'Authorization' : 'X-API-Key'] = headers[name];
      }
    });
    return found;
  }

  // A WebSocket is authenticated once, at connection_init, so the headers pane cannot reach a socket
  // already open: one graphql-ws client per set of credentials. The clients are lazy (the socket
  // closes when its last subscription ends), so the ones for credentials no longer typed hold
  // nothing open.
  var fetchers = new Map();

  function fetcherFor(headers) {
    var credentials = credentialsOf(headers);
    var key = JSON.stringify(credentials);
    if (!fetchers.has(key)) {
      var client = graphqlWs.createClient({ url: socketUrl, connectionParams: credentials, lazy: true });
      fetchers.set(key, GraphiQL.createFetcher({ url: endpoint, wsClient: client }));
    }
    return fetchers.get(key);
  }

  function fetcher(params, options) {
    return fetcherFor(options && options.headers)(params, options);
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      inputValueDeprecation: true,
    })
  );
})();
