// The log views against a real `weft serve` fed by `weft gen`, which sends log records next to
// its spans: every trace has at least one record with its trace and span IDs (INFO on the root
// span, ERROR with an `exception.type` on failing spans), and every service sends `heartbeat`
// records without trace context. What the pages must show is read from the API's own answers
// first, and every answer's shape is checked so a server change fails here with a clear message.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot, waitFor } from './harness.mjs';

/** How long the logs may take to become searchable after `weft gen` (they share the pipeline). */
const LOGS_TIMEOUT_MILLIS = 60_000;
const SEVERE_LEVELS = new Set(['error', 'fatal']);

/** What an answer looks like, for assertion messages. */
function excerpt(value) {
  const text = JSON.stringify(value);
  return text && text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/** Checks one record against the documented LogRecord shape. */
function assertLogRecord(record, where) {
  assert.ok(record && typeof record === 'object', `${where}: a log record is an object, got ${excerpt(record)}`);
  assert.match(String(record.timeUnixNano), /^\d+$/, `${where}: timeUnixNano is a decimal string: ${excerpt(record)}`);
  assert.equal(typeof record.body, 'string', `${where}: body is a string: ${excerpt(record)}`);
  assert.equal(typeof record.severityNumber, 'number', `${where}: severityNumber is a number: ${excerpt(record)}`);
  assert.equal(typeof record.severity, 'string', `${where}: severity is a string: ${excerpt(record)}`);
  assert.equal(typeof record.serviceName, 'string', `${where}: serviceName is a string: ${excerpt(record)}`);
  assert.ok(record.traceId === null || /^[0-9a-f]{32}$/i.test(record.traceId), `${where}: traceId is null or 32 hex digits: ${excerpt(record)}`);
  assert.ok(record.spanId === null || /^[0-9a-f]{16}$/i.test(record.spanId), `${where}: spanId is null or 16 hex digits: ${excerpt(record)}`);
  assert.ok(record.attributes && typeof record.attributes === 'object', `${where}: attributes is an object: ${excerpt(record)}`);
}

/** GET /api/v1/logs?<query>, its shape checked. */
async function searchLogs(weft, query) {
  const path = `/api/v1/logs?${query}`;
  const answer = await weft.getJson(path);
  assert.ok(Array.isArray(answer?.logs), `${path} answers { tier, logs: [...], scannedRecords, limit }, got ${excerpt(answer)}`);
  assert.ok(answer.tier === 'hot' || answer.tier === 'cold', `${path}: tier is "hot" or "cold", got ${excerpt(answer.tier)}`);
  assert.equal(typeof answer.scannedRecords, 'number', `${path}: scannedRecords is a number, got ${excerpt(answer.scannedRecords)}`);
  assert.equal(typeof answer.limit, 'number', `${path}: limit is a number, got ${excerpt(answer.limit)}`);
  answer.logs.forEach((record, index) => assertLogRecord(record, `${path} logs[${index}]`));
  return answer;
}

/** Polls a log search until `pick` finds what it looks for in the answer, and answers that. */
async function eventuallyLogs(weft, what, query, pick) {
  return waitFor(what, async () => pick(await searchLogs(weft, query)) ?? null, LOGS_TIMEOUT_MILLIS);
}

/** GET /api/v1/traces/{traceId}/logs, its shape checked. */
async function traceLogs(weft, traceId) {
  const path = `/api/v1/traces/${traceId}/logs`;
  const answer = await weft.getJson(path);
  assert.ok(Array.isArray(answer?.logs), `${path} answers { traceId, tier, logs: [...] }, got ${excerpt(answer)}`);
  assert.equal(String(answer.traceId).toLowerCase(), traceId, `${path}: the answer names its trace`);
  answer.logs.forEach((record, index) => assertLogRecord(record, `${path} logs[${index}]`));
  return answer;
}

/** The level the UI gives a record (lib/logs.ts): by number when set, else by text. */
function levelOf(record) {
  if (record.severityNumber >= 1 && record.severityNumber <= 24) return ['trace', 'debug', 'info', 'warn', 'error', 'fatal'][Math.floor((record.severityNumber - 1) / 4)];
  return String(record.severity || record.severityText).toLowerCase().replace(/\d+$/, '');
}

/** Whether a row's body text shows `body` (the UI cuts bodies over 400 characters until "more"). */
function showsBody(text, body) {
  return body.length <= 400 ? text.includes(body) : text.startsWith(body.slice(0, 399));
}

/** The (lower-case) span IDs of an OTLP/JSON trace answer. */
function spanIdsOf(tracesData) {
  return new Set(
    (tracesData.resourceSpans ?? []).flatMap((resourceSpans) =>
      (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) => (scopeSpans.spans ?? []).map((span) => span.spanId.toLowerCase())),
    ),
  );
}

/** The browser logs a 4xx response itself; nothing else may fail. */
function unexpectedErrors(page) {
  return page.weftErrors.filter((error) => !/status of 40[04]/.test(error));
}

/** Waits for the trace page's Logs panel to have loaded, and answers it. */
async function readyLogsPanel(page) {
  const panel = page.getByTestId('trace-logs');
  await panel.waitFor();
  await page.locator('[data-testid="trace-logs"][data-status="ready"], [data-testid="trace-logs"][data-status="failed"]').waitFor({ timeout: 15_000 });
  if ((await panel.getAttribute('data-status')) === 'failed') {
    assert.fail(`the Logs panel failed to load: ${await panel.textContent()}`);
  }
  return panel;
}

export function register(context) {
  it('a trace with logs shows its records in the Logs panel, and a span’s records in its details', async () => {
    const { weft } = context;
    // A record with trace context, as the brief's demo data promises for every trace.
    const found = await eventuallyLogs(weft, 'a log record with a trace ID in /api/v1/logs?limit=50', 'limit=50', (answer) =>
      answer.logs.find((record) => record.traceId !== null),
    ).catch(async (error) => {
      // The newest records may all be heartbeats; error records always carry a trace.
      const severe = (await searchLogs(weft, 'severity=error&limit=50')).logs.find((record) => record.traceId !== null);
      if (severe) return severe;
      throw error;
    });
    const traceId = found.traceId.toLowerCase();
    const spanId = found.spanId?.toLowerCase() ?? null;
    const ofTrace = await traceLogs(weft, traceId);
    assert.ok(ofTrace.logs.length > 0, `the trace ${traceId} of a found record has records in /api/v1/traces/${traceId}/logs`);
    assert.ok(
      ofTrace.logs.some((record) => record.body === found.body && (record.spanId?.toLowerCase() ?? null) === spanId),
      `the trace's logs include the found record (${excerpt(found)})`,
    );

    const page = await openPage(context.browser, weft, { height: 1400 });
    await page.goto(`/trace/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    const panel = await readyLogsPanel(page);
    assert.equal(await panel.evaluate((details) => details.open), true, 'the Logs panel is open by default');
    assert.ok(await panel.isVisible(), 'the Logs panel is visible');
    assert.equal(await panel.getAttribute('data-count'), String(ofTrace.logs.length), 'the panel counts the records the API has for the trace');
    assert.match(await page.getByTestId('trace-log-count').textContent(), new RegExp(`^${ofTrace.logs.length}\\b`), 'the header counts the records');
    const bodies = await panel.getByTestId('trace-log-body').allTextContents();
    assert.ok(
      bodies.some((text) => showsBody(text, found.body)),
      `the Logs panel shows the record's body "${found.body}"; it shows ${excerpt(bodies)}`,
    );
    assert.equal(await panel.getByTestId('trace-logs-empty').count(), 0, 'no empty state when there are records');

    // A row opens to its attributes.
    const row = panel.getByTestId('trace-log-row').filter({ hasText: found.body.slice(0, 200) }).first();
    await row.getByTestId('log-expand').click();
    const details = panel.getByTestId('trace-log-details').first();
    await details.waitFor();
    for (const key of Object.keys(found.attributes)) {
      assert.equal(await details.locator(`[data-testid="log-attributes"] tr[data-key="${key}"]`).count(), 1, `the details list the attribute ${key}`);
    }

    // The span name selects that span in the waterfall, whose details list the span's records.
    if (spanId !== null && (await row.getByTestId('trace-log-span').count()) > 0) {
      assert.equal(await row.getByTestId('trace-log-span').getAttribute('data-span-id'), spanId);
      await row.getByTestId('trace-log-span').click();
      await page.locator(`[data-testid="span-row"][data-span-id="${spanId}"][aria-selected="true"]`).waitFor();
      await page.waitForURL((url) => url.pathname === `/trace/${traceId}` && url.searchParams.get('span') === spanId);
      const spanLogs = page.getByTestId('span-detail').getByTestId('span-logs');
      await spanLogs.waitFor();
      const expected = ofTrace.logs.filter((record) => record.spanId?.toLowerCase() === spanId);
      assert.equal(await spanLogs.getAttribute('data-count'), String(expected.length), "the span detail lists the span's records");
      const spanBodies = await spanLogs.getByTestId('span-log-body').allTextContents();
      assert.ok(spanBodies.some((text) => showsBody(text, found.body)), `the span detail shows "${found.body}"; it shows ${excerpt(spanBodies)}`);
      // The panel marks the selected span's rows.
      assert.equal(await panel.locator('[data-testid="trace-log-row"][data-selected="true"]').count(), expected.length);
    }
    await panel.scrollIntoViewIfNeeded();
    await screenshot(page, 'trace-logs');
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('the Logs page finds heartbeat records, none of which links to a trace, and keeps the search in the URL', async () => {
    const { weft } = context;
    const query = 'q=heartbeat&lookback=1h&limit=100';
    const answer = await eventuallyLogs(weft, 'heartbeat records', query, (result) => (result.logs.length > 0 ? result : null));
    for (const record of answer.logs) {
      assert.match(record.body, /heartbeat/i, `a record the API finds for "heartbeat" says so: ${excerpt(record)}`);
      assert.equal(record.traceId, null, `heartbeat records carry no trace context: ${excerpt(record)}`);
    }

    const page = await openPage(context.browser, weft);
    await page.goto('/logs');
    const form = page.getByTestId('logs-form');
    await form.waitFor();
    await form.getByTestId('logs-text').fill('heartbeat');
    await form.getByTestId('logs-submit').click();
    await page.waitForURL((url) => url.pathname === '/logs' && url.searchParams.get('q') === 'heartbeat');
    const table = page.getByTestId('logs-table');
    await table.waitFor();
    const rows = page.getByTestId('log-row');
    assert.equal(await rows.count(), answer.logs.length, 'the page lists the records the API finds');
    for (const text of await page.getByTestId('log-body').allTextContents()) assert.match(text, /heartbeat/i);
    assert.equal(await table.getByTestId('log-trace-link').count(), 0, 'no heartbeat row links to a trace');
    assert.deepEqual([...new Set(await rows.evaluateAll((elements) => elements.map((element) => element.dataset.traceId)))], ['']);
    await screenshot(page, 'logs-heartbeat');

    // A reload runs the same search from the URL.
    await page.reload();
    await page.getByTestId('logs-table').waitFor();
    assert.equal(await page.getByTestId('logs-text').inputValue(), 'heartbeat');
    assert.equal(await page.getByTestId('log-row').count(), answer.logs.length);
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('the Logs page keeps error records and worse, and a record’s trace link opens the trace with its Logs panel', async () => {
    const { weft } = context;
    const query = 'severity=error&lookback=1h&limit=100';
    const answer = await eventuallyLogs(weft, 'error records with a trace', query, (result) =>
      result.logs.some((record) => record.traceId !== null) ? result : null,
    );
    for (const record of answer.logs) {
      assert.ok(SEVERE_LEVELS.has(levelOf(record)), `severity=error answers ERROR and FATAL records only: ${excerpt(record)}`);
    }

    const page = await openPage(context.browser, weft, { height: 1200 });
    await page.goto('/logs');
    const form = page.getByTestId('logs-form');
    await form.waitFor();
    await form.getByTestId('logs-severity').selectOption('error');
    await form.getByTestId('logs-submit').click();
    await page.waitForURL((url) => url.pathname === '/logs' && url.searchParams.get('severity') === 'error');
    await page.getByTestId('logs-table').waitFor();
    const rows = page.getByTestId('log-row');
    assert.equal(await rows.count(), answer.logs.length, 'the page lists the records the API finds');
    const levels = await rows.evaluateAll((elements) => elements.map((element) => element.dataset.severity));
    for (const level of levels) assert.ok(SEVERE_LEVELS.has(level), `only ERROR and FATAL rows: found a ${level} row`);
    for (const text of await page.getByTestId('logs-table').getByTestId('log-severity').allTextContents()) {
      assert.match(text, /^(error|fatal)\d?$/i, `a severity badge says ERROR or FATAL: ${text}`);
    }
    await screenshot(page, 'logs-errors');

    // The first row with trace context links to its trace at its span.
    const row = page.locator('[data-testid="log-row"]:not([data-trace-id=""])').first();
    const traceId = await row.getAttribute('data-trace-id');
    const body = await row.getByTestId('log-body').textContent();
    const link = row.getByTestId('log-trace-link');
    const href = await link.getAttribute('href');
    assert.match(href, new RegExp(`^/trace/${traceId}(\\?span=[0-9a-f]{16})?$`), `the trace link points at the record's trace: ${href}`);
    await link.click();
    await page.waitForURL((url) => url.pathname === `/trace/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    const panel = await readyLogsPanel(page);
    await panel.scrollIntoViewIfNeeded();
    assert.ok(await panel.isVisible(), 'the Logs panel is visible on the trace page');
    const bodies = await panel.getByTestId('trace-log-body').allTextContents();
    assert.ok(bodies.includes(body), `the trace's Logs panel shows the record "${body}"; it shows ${excerpt(bodies)}`);
    assert.ok((await panel.locator('[data-testid="trace-log-row"][data-severity="error"], [data-testid="trace-log-row"][data-severity="fatal"]').count()) > 0);
    const spanId = new URL(href, weft.baseUrl).searchParams.get('span');
    if (spanId && spanIdsOf(await weft.getJson(`/api/v1/traces/${traceId}`)).has(spanId)) {
      // The link selected the record's span, whose details list its records.
      await page.locator(`[data-testid="span-row"][data-span-id="${spanId}"][aria-selected="true"]`).waitFor();
      const spanLogs = page.getByTestId('span-detail').getByTestId('span-logs');
      await spanLogs.waitFor();
      assert.ok((await spanLogs.getByTestId('span-log-body').allTextContents()).includes(body), 'the span detail lists the record');
    }
    await screenshot(page, 'trace-logs-from-search');
    assert.deepEqual(unexpectedErrors(page), []);
    await page.context().close();
  });

  it('a bad search shows the server’s message', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/logs?severity=loud');
    const banner = page.getByTestId('error-banner').first();
    await banner.waitFor();
    assert.match(await banner.textContent(), /HTTP 400/, 'the server rejects an unknown severity with 400');
    assert.equal(await page.getByTestId('logs-severity').inputValue(), 'loud', 'the form shows what the URL asked for');
    assert.deepEqual(page.weftErrors.filter((error) => !/status of 400/.test(error)), []);
    await page.context().close();
  });
}
