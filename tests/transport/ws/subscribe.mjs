// One subscription with the graphql-ws client (protocol graphql-transport-ws) on Node's `ws`:
// argv = url, bearer token, document, variables (JSON). Prints one JSON line per thing that happens
// ({type: "connected"}, {type: "next", payload}, {type: "error", errors}, {type: "complete"},
// {type: "closed", code, reason}) and exits once the subscription has ended. No retries: a close is
// reported, not hidden.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, variablesJson] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: false,
  on: {
    connected: () => say({ type: 'connected' }),
    closed: (event) => say({ type: 'closed', code: event.code, reason: String(event.reason) }),
  },
});

client.subscribe(
  { query, variables: JSON.parse(variablesJson) },
  {
    next: (payload) => say({ type: 'next', payload }),
    error: (error) => {
      say({ type: 'error', errors: Array.isArray(error) ? error : [{ message: String(error?.reason ?? error) }] });
      client.dispose();
    },
    complete: () => {
      say({ type: 'complete' });
      client.dispose();
    },
  },
);
