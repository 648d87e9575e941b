// The diagnostics views against a real `weft serve` (a 1 s trace inactivity timeout, so traces
// are analyzed soon after `weft gen` stops) fed by `weft gen` with its pathologies switched on:
// the Diagnostics page, a finding's example trace and its Diagnosis section, the Database and
// Redis pages. What the pages must show is read from the API's own answers first.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot, waitFor } from './harness.mjs';

/** How long the analysis may take to catch up with what `weft gen` sent. */
const ANALYSIS_TIMEOUT_MILLIS = 90_000;

/**
 * Waits until the assembler holds no open trace (everything sent has been analyzed) and answers
 * the overview then.
 */
async function analyzed(weft) {
  return waitFor(
    'the diagnostics to analyze every trace',
    async () => {
      const overview = await weft.getJson('/api/v1/diagnostics?lookback=1h');
      return overview.assembler.openTraces === 0 && overview.assembler.tracesAnalyzed > 0 ? overview : null;
    },
    ANALYSIS_TIMEOUT_MILLIS,
  );
}

/** Polls an API path until `pick` finds what it looks for in the answer, and answers that. */
async function eventually(weft, what, path, pick) {
  return waitFor(what, async () => pick(await weft.getJson(path)) ?? null, ANALYSIS_TIMEOUT_MILLIS);
}

/** The trace ID of a trace page link's href (`/trace/<id>` with an optional `?span=`). */
function traceIdOf(href) {
  const match = /^\/trace\/([0-9a-f]{32})(?:\?span=([0-9a-f]{16}))?$/.exec(href);
  assert.ok(match, `a trace link: ${href}`);
  return match[1];
}

/** The browser logs a 4xx response itself; nothing else may fail. */
function unexpectedErrors(page) {
  return page.weftErrors.filter((error) => !/status of 40[04]/.test(error));
}

export function register(context) {
  it('the Diagnostics page lists a repeated calls finding whose example trace shows it in its Diagnosis section', async () => {
    const { weft } = context;
    await analyzed(weft);
    const { findings } = await eventually(weft, 'a repeated calls finding', '/api/v1/diagnostics/findings?kind=repeated_calls&lookback=1h', (answer) =>
      answer.findings.length > 0 ? answer : null,
    );
    const examples = new Set(findings.flatMap((finding) => finding.example_trace_ids));
    assert.ok(examples.size > 0, 'a repeated calls finding has example traces');
    const overview = await weft.getJson('/api/v1/diagnostics?lookback=1h');

    const page = await openPage(context.browser, weft, { height: 1400 });
    await page.goto('/diagnostics');
    const table = page.getByTestId('findings-table');
    await table.waitFor();
    // The page shows the overview's findings, in its order.
    const shown = await page
      .getByTestId('finding-row')
      .evaluateAll((rows) => rows.map((row) => `${row.dataset.kind}/${row.dataset.service}`));
    assert.deepEqual(shown, overview.findings.map((finding) => `${finding.kind}/${finding.service}`));
    const row = page.locator('[data-testid="finding-row"][data-kind="repeated_calls"]').first();
    assert.match(await row.getByTestId('finding-kind').textContent(), /repeated calls/);
    assert.match(await row.textContent(), /makes the same call \d+ times/);
    await screenshot(page, 'diagnostics');

    // Its first example trace opens the trace page, whose Diagnosis section names the finding.
    const link = row.getByTestId('finding-example-link').first();
    const traceId = traceIdOf(await link.getAttribute('href'));
    assert.ok(examples.has(traceId), `${traceId} is an example the API gives for repeated calls`);
    const diagnosis = await weft.getJson(`/api/v1/traces/${traceId}/diagnosis`);
    const repeated = diagnosis.findings.filter((finding) => finding.kind === 'repeated_calls');
    assert.ok(repeated.length > 0, 'the example trace has repeated calls when diagnosed alone');

    const diagnosisRequests = [];
    page.on('request', (request) => {
      if (request.url().includes('/diagnosis')) diagnosisRequests.push(request.url());
    });
    await link.click();
    await page.waitForURL(`**/trace/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    const section = page.getByTestId('diagnosis-section');
    await page.locator('[data-testid="diagnosis-section"][data-status="ready"]').waitFor();
    assert.equal(await section.evaluate((details) => details.open), false, 'collapsed by default');
    assert.match(await section.locator('summary').textContent(), /repeated calls/);
    assert.equal(await section.getAttribute('data-findings'), String(diagnosis.findings.length));

    // Opens from the keyboard and lists every finding, with the server's messages.
    await section.locator('summary').focus();
    await page.keyboard.press('Enter');
    assert.equal(await section.evaluate((details) => details.open), true);
    const items = section.getByTestId('diagnosis-finding');
    assert.equal(await items.count(), diagnosis.findings.length);
    const messages = await section.getByTestId('diagnosis-message').allTextContents();
    assert.deepEqual([...messages].sort(), diagnosis.findings.map((finding) => finding.message).sort());
    const item = section.locator('[data-testid="diagnosis-finding"][data-kind="repeated_calls"]').first();
    assert.match(await item.getByTestId('finding-kind').textContent(), /repeated calls/);

    // A span button selects that span in the waterfall and puts it in the URL.
    const button = item.getByTestId('diagnosis-span-button').first();
    const spanId = await button.getAttribute('data-span-id');
    assert.ok(repeated.some((finding) => finding.spanIds.map((id) => id.toLowerCase()).includes(spanId)), `${spanId} is a span of the finding`);
    await button.click();
    await page.locator(`[data-testid="span-row"][data-span-id="${spanId}"][aria-selected="true"]`).waitFor();
    await page.getByTestId('span-detail').waitFor();
    await page.waitForURL(`**/trace/${traceId}?span=${spanId}`);

    // Highlighting marks the finding's spans (those rendered) and nothing else.
    const highlight = item.getByTestId('diagnosis-highlight');
    await highlight.click();
    assert.equal(await highlight.getAttribute('aria-pressed'), 'true');
    const findingSpans = new Set(repeated.flatMap((finding) => finding.spanIds.map((id) => id.toLowerCase())));
    const marked = await page.locator('[data-testid="span-row"][data-highlighted="true"]').evaluateAll((rows) => rows.map((row) => row.dataset.spanId));
    assert.ok(marked.length > 0, 'at least one highlighted span row is rendered');
    for (const id of marked) assert.ok(findingSpans.has(id), `${id} is a span of a repeated calls finding`);
    await screenshot(page, 'trace-diagnosis');
    await highlight.click();
    assert.equal(await page.locator('[data-testid="span-row"][data-highlighted="true"]').count(), 0);

    assert.equal(diagnosisRequests.length, 1, 'the trace page asks for the diagnosis once');
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('the kind filter keeps one kind of finding and the URL says so', async () => {
    const { weft } = context;
    await analyzed(weft);
    const { findings } = await weft.getJson('/api/v1/diagnostics/findings?kind=repeated_calls&lookback=1h&limit=200');
    const page = await openPage(context.browser, weft);
    await page.goto('/diagnostics');
    await page.getByTestId('findings-table').waitFor();
    await page.getByLabel('Finding kind').selectOption('repeated_calls');
    await page.waitForURL('**/diagnostics?*kind=repeated_calls*');
    await page.locator('[data-testid="findings-table"][data-rows]').waitFor();
    await page.getByRole('heading', { name: /Findings: repeated calls/ }).waitFor();
    await page.waitForFunction(
      (count) => document.querySelectorAll('[data-testid="finding-row"]').length === count,
      findings.length,
      { timeout: 15_000 },
    );
    const kinds = await page.getByTestId('finding-row').evaluateAll((rows) => rows.map((row) => row.dataset.kind));
    assert.deepEqual([...new Set(kinds)], ['repeated_calls']);
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('the Database page lists the stock query with its calls and slowest traces', async () => {
    const { weft } = context;
    await analyzed(weft);
    const report = await eventually(weft, 'a statement on stock', '/api/v1/statistics/database?lookback=1h&limit=500', (answer) =>
      answer.statements.some((statement) => statement.fingerprint.includes('FROM stock')) ? answer : null,
    );
    const stock = report.statements.filter((statement) => statement.fingerprint.includes('FROM stock'));

    const page = await openPage(context.browser, weft, { height: 1200 });
    await page.goto('/database');
    await page.getByTestId('statements-table').waitFor();
    assert.equal(await page.getByTestId('statement-row').count(), report.statements.length);
    const row = page.getByTestId('statement-row').filter({ hasText: 'FROM stock' }).first();
    const fingerprint = await row.getByTestId('statement-fingerprint').textContent();
    const expected = stock.find((statement) => statement.fingerprint === fingerprint);
    assert.ok(expected, `the API has the statement the page shows: ${fingerprint}`);
    assert.ok(Number(await row.getAttribute('data-calls')) > 0);
    assert.equal(await row.getByTestId('statement-calls').textContent(), expected.calls.toLocaleString('en-US'));
    assert.equal(await row.getAttribute('data-system'), expected.system);
    // Slowest calls link to their trace at their span.
    const slowest = row.getByTestId('slowest-link');
    assert.equal(await slowest.count(), Math.min(expected.slowest.length, 3));
    if (expected.slowest.length > 0) {
      const call = expected.slowest[0];
      assert.equal(await slowest.first().getAttribute('href'), `/trace/${call.trace_id}?span=${call.span_id}`);
    }
    // The tables the statements touch include stock.
    await page.locator('[data-testid="table-row"][data-table="stock"]').waitFor();
    await screenshot(page, 'database');

    // Filtering by text keeps the matching statements.
    await page.getByTestId('statement-filter').fill('from stock');
    await page.waitForFunction(
      (count) => document.querySelectorAll('[data-testid="statement-row"]').length === count,
      report.statements.filter((statement) => statement.fingerprint.toLowerCase().includes('from stock') || statement.tables.includes('from stock')).length,
      { timeout: 5_000 },
    );
    for (const text of await page.getByTestId('statement-fingerprint').allTextContents()) assert.match(text, /FROM stock/i);
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('the Redis page lists GET by key pattern with a {n} placeholder, hot keys and big values', async () => {
    const { weft } = context;
    await analyzed(weft);
    const report = await eventually(weft, 'a GET command with a {n} key pattern', '/api/v1/statistics/redis?lookback=1h&limit=500', (answer) =>
      answer.commands.some((command) => command.command === 'GET' && command.key_pattern.includes('{n}')) ? answer : null,
    );
    const get = report.commands.find((command) => command.command === 'GET' && command.key_pattern.includes('{n}'));

    const page = await openPage(context.browser, weft, { height: 1200 });
    await page.goto('/redis');
    await page.getByTestId('redis-commands').waitFor();
    assert.equal(await page.getByTestId('redis-command-row').count(), report.commands.length);
    const row = page.locator(`[data-testid="redis-command-row"][data-command="GET"][data-key-pattern="${get.key_pattern}"]`).first();
    await row.waitFor();
    assert.ok((await row.textContent()).includes(get.key_pattern));
    assert.equal(await row.getAttribute('data-calls'), String(get.calls));
    const hitRate = await row.getByTestId('hit-rate').textContent();
    if (get.hit_rate === null) assert.equal(hitRate, '\u2014');
    else assert.match(hitRate, /^\d+(\.\d+)? %$/);
    // Hot keys and big values as the API lists them; each big value links to its call.
    if (report.hot_keys.length > 0) assert.equal(await page.getByTestId('hot-key-row').count(), report.hot_keys.length);
    if (report.big_keys.length > 0) {
      assert.equal(await page.getByTestId('big-key-row').count(), report.big_keys.length);
      const big = report.big_keys[0];
      assert.equal(await page.getByTestId('big-key-row').first().getByTestId('trace-link').getAttribute('href'), `/trace/${big.trace_id}?span=${big.span_id}`);
    }
    await screenshot(page, 'redis');
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('a finding kind the server does not know shows its message in an error banner', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/diagnostics?kind=nonsense');
    const banner = page.getByTestId('error-banner').first();
    await banner.waitFor();
    assert.match(await banner.textContent(), /unknown finding kind/);
    assert.match(await banner.textContent(), /HTTP 400/);
    // The rest of the page still works: the kind select shows what the URL asked for.
    assert.equal(await page.getByLabel('Finding kind').inputValue(), 'nonsense');
    await page.getByTestId('interruptions-section').waitFor();
    await screenshot(page, 'diagnostics-server-error');
    assert.deepEqual(page.weftErrors.filter((error) => !/status of 400/.test(error)), []);
    await page.context().close();
  });
}
