// A person in GraphiQL, in headless Chromium driven by playwright-core: open the page, type a token
// in the headers pane and a subscription in the query editor, run it. argv = Chromium's path, the
// page's URL, the headers (JSON text), the document, the text that shows the subscription is live,
// the text of the pushed result, a screenshot path. Prints JSON lines: {type: "live"} once the first
// result shows (the test then writes over HTTP), {type: "pushed", result} when the second shows, and
// last {type: "report", requests, blocked, sockets, inits, console} (inits: the connection_init
// payloads sent). Every request that would leave this machine is blocked and reported.
import { chromium } from 'playwright-core';

const [executablePath, pageUrl, headers, query, liveText, pushedText, screenshot] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const WAIT_MS = 20000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

// The flags a root, offline machine needs: without the background-networking ones Chromium itself
// calls out at start (Google's services), which is not the page's doing.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
  ],
});
const requests = [];
const blocked = [];
const sockets = [];
const inits = [];
const logged = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    if (LOCAL_HOSTS.has(new URL(url).hostname)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('websocket', (socket) => {
    sockets.push(socket.url());
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload));
      if (message.type === 'connection_init') inits.push(message.payload ?? null);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') logged.push(message.text());
  });
  page.on('pageerror', (error) => logged.push(`page error: ${error}`));

  await page.goto(pageUrl);
  await page.locator('.graphiql-execute-button').waitFor({ timeout: WAIT_MS });
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  // insertText types as an input method does: CodeMirror's bracket closing, bound to key presses,
  // does not add a second brace to what is typed.
  await typeInto(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', headers);
  await typeInto(page, '.graphiql-query-editor .CodeMirror', query);
  // GraphiQL parses the query editor 100 ms after the last change, and tells its fetcher whether
  // to use the WebSocket from that parse: run once it has stored the query (as a person's pause
  // between typing and clicking lets it).
  await page.waitForFunction((typed) => localStorage.getItem('graphiql:query') === typed, query);
  await page.locator('.graphiql-execute-button').click();

  await resultShows(page, liveText);
  say({ type: 'live' });
  const result = await resultShows(page, pushedText);
  say({ type: 'pushed', result });
} finally {
  // What the page showed, whichever way it ended: the first thing to look at when this fails.
  const [page] = browser.contexts().flatMap((context) => context.pages());
  if (screenshot && page) await page.screenshot({ path: screenshot }).catch(() => {});
  say({ type: 'report', requests, blocked, sockets, inits, console: logged });
  await browser.close();
}

async function typeInto(page, selector, text) {
  await page.locator(selector).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

// The result pane's text once it holds `text` (read from its editor: CodeMirror draws only the
// lines in view).
async function resultShows(page, text) {
  const shown = await page.waitForFunction(
    (wanted) => {
      const value = document.querySelector('.result-window .CodeMirror')?.CodeMirror?.getValue() ?? '';
      return value.includes(wanted) && value;
    },
    text,
    { timeout: WAIT_MS },
  );
  return shown.jsonValue();
}
