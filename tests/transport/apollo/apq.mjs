// Apollo Client 4 with its persisted-queries link against the server at argv[2]. argv[3] is a JSON
// list of runs: {name, documents, useGETForHashedQueries, accept}; each run is a fresh client that
// sends each of its documents (network-only, so every one reaches the server). Prints, per run, what
// the app got and every HTTP request the link made (method, whether it carried the document and the
// hash, the status and the error codes answered), read by a fetch wrapper.
import { createHash } from 'node:crypto';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const [url, runsJson] = process.argv.slice(2);

function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

function sent(input, init) {
  const method = init?.method ?? 'GET';
  if (method === 'GET') {
    const params = new URL(String(input)).searchParams;
    const extensions = params.get('extensions');
    return { method, query: params.get('query'), extensions: extensions && JSON.parse(extensions) };
  }
  const body = JSON.parse(init.body);
  return { method, query: body.query ?? null, extensions: body.extensions ?? null };
}

async function run({ name, documents, useGETForHashedQueries, accept }) {
  const requests = [];
  async function recordingFetch(input, init) {
    const request = sent(input, init);
    const response = await fetch(input, init);
    const text = await response.clone().text();
    let codes = [];
    try {
      codes = (JSON.parse(text).errors ?? []).map((e) => e.extensions?.code ?? null);
    } catch {}
    requests.push({
      method: request.method,
      query: request.query,
      sha256Hash: request.extensions?.persistedQuery?.sha256Hash ?? null,
      status: response.status,
      contentType: response.headers.get('content-type'),
      cacheControl: response.headers.get('cache-control'),
      codes,
    });
    return response;
  }
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({ uri: url, fetch: recordingFetch, headers: accept ? { accept } : {} }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const answers = [];
  for (const document of documents) {
    try {
      const { data } = await client.query({ query: gql(document), fetchPolicy: 'network-only' });
      answers.push({ data });
    } catch (error) {
      // CombinedGraphQLErrors carries the errors; a ServerError (a non-2xx application/json
      // answer) carries the body they are in
      let errors = error.errors ?? [];
      if (error.bodyText) {
        try {
          errors = JSON.parse(error.bodyText).errors ?? [];
        } catch {}
      }
      const codes = errors.map((e) => e.extensions?.code ?? null);
      answers.push({ error: error.name, status: error.statusCode ?? null, codes });
    }
  }
  return { name, answers, requests };
}

const results = [];
for (const spec of JSON.parse(runsJson)) {
  results.push(await run(spec));
}
console.log(JSON.stringify(results));
