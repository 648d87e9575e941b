import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot } from './harness.mjs';

/** The flat spans of an OTLP/JSON answer, with times relative to nothing (BigInt → Number offsets). */
function flatSpans(tracesData) {
  const spans = [];
  for (const resourceSpans of tracesData.resourceSpans ?? []) {
    const service = resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value?.stringValue;
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) spans.push({ ...span, service, resourceAttributes: resourceSpans.resource?.attributes ?? [] });
    }
  }
  const origin = spans.reduce((min, span) => (BigInt(span.startTimeUnixNano) < min ? BigInt(span.startTimeUnixNano) : min), BigInt(spans[0].startTimeUnixNano));
  return spans.map((span) => ({
    spanId: span.spanId,
    parentSpanId: span.parentSpanId || null,
    service: span.service,
    name: span.name,
    isError: span.status?.code === 2,
    statusMessage: span.status?.message ?? '',
    // Everything find-in-trace looks at, for an independent statement of what it must match.
    findText: [
      span.service,
      span.name,
      span.spanId,
      span.status?.message ?? '',
      ...(span.attributes ?? []).flatMap((attribute) => [attribute.key, JSON.stringify(attribute.value ?? {})]),
      ...span.resourceAttributes.map((attribute) => JSON.stringify(attribute.value ?? {})),
      ...(span.events ?? []).map((event) => event.name),
    ]
      .join('\n')
      .toLowerCase(),
    start: Number(BigInt(span.startTimeUnixNano) - origin),
    end: Number(BigInt(span.endTimeUnixNano) - origin),
  }));
}

/**
 * An independent, recursive statement of the critical path the UI documents (ui/src/lib/
 * critical-path.ts): walking back from the root's end, take the child that finished last
 * before the cursor; the parent's time between is on the path. Answers the spans that have
 * time on the path.
 */
function criticalPathSpanIds(spans) {
  const children = new Map();
  for (const span of spans) {
    if (span.parentSpanId === null) continue;
    if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
    children.get(span.parentSpanId).push(span);
  }
  const onPath = new Set();
  const walk = (span, from, to) => {
    const clipped = (children.get(span.spanId) ?? [])
      .map((child) => ({ child, start: Math.max(child.start, from), end: Math.min(child.end, to) }))
      .filter((entry) => entry.end > entry.start)
      .sort((a, b) => b.end - a.end || a.start - b.start || (a.child.spanId < b.child.spanId ? -1 : 1));
    let cursor = to;
    for (const entry of clipped) {
      if (entry.end > cursor) continue;
      if (cursor > entry.end) onPath.add(span.spanId);
      walk(entry.child, entry.start, entry.end);
      cursor = entry.start;
    }
    if (cursor > from) onPath.add(span.spanId);
  };
  const root = spans.filter((span) => span.parentSpanId === null).sort((a, b) => a.start - b.start)[0];
  walk(root, root.start, root.end);
  return onPath;
}

async function knownErrorTrace(weft) {
  const answer = await weft.getJson('/api/v1/search?service=payment-service&status=error&lookback=1h&limit=1');
  assert.ok(answer.traces.length > 0, 'weft gen sent at least one failing checkout');
  const traceId = answer.traces[0].traceId;
  return { traceId, spans: flatSpans(await weft.getJson(`/api/v1/traces/${traceId}`)) };
}

export function register(context) {
  it('the trace page shows every span of a known error trace and its critical path', async () => {
    const { traceId, spans } = await knownErrorTrace(context.weft);
    const page = await openPage(context.browser, context.weft, { height: 1600 });
    await page.goto(`/trace/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    assert.equal(await page.getByTestId('trace-span-count').textContent(), String(spans.length));
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), String(spans.length));
    assert.equal(await page.getByTestId('trace-error-count').textContent(), String(spans.filter((span) => span.isError).length));
    // Every row is in view on this tall page, so the DOM holds them all.
    const rows = await page.getByTestId('span-row').evaluateAll((elements) =>
      elements.map((element) => ({ spanId: element.dataset.spanId, critical: element.dataset.critical === 'true', error: element.dataset.error === 'true' })),
    );
    assert.equal(rows.length, spans.length);
    const expectedCritical = criticalPathSpanIds(spans);
    assert.deepEqual(new Set(rows.filter((row) => row.critical).map((row) => row.spanId)), expectedCritical);
    assert.equal(await page.getByTestId('critical-path-span-count').textContent(), `${expectedCritical.size} spans`);
    assert.deepEqual(
      new Set(rows.filter((row) => row.error).map((row) => row.spanId)),
      new Set(spans.filter((span) => span.isError).map((span) => span.spanId)),
    );
    await screenshot(page, 'trace-waterfall');
    // Turning the highlight off removes it.
    await page.getByTestId('critical-path-toggle').uncheck();
    assert.equal(await page.locator('[data-testid="span-row"][data-critical="true"]').count(), 0);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('a span opens its details with status, attributes and events, and the URL names it', async () => {
    const { traceId, spans } = await knownErrorTrace(context.weft);
    const failing = spans.find((span) => span.isError && span.statusMessage);
    const page = await openPage(context.browser, context.weft, { height: 1400 });
    await page.goto(`/trace/${traceId}`);
    await page.locator(`[data-testid="span-row"][data-span-id="${failing.spanId}"]`).click();
    const detail = page.getByTestId('span-detail');
    await detail.waitFor();
    assert.match(await detail.getByTestId('span-status').textContent(), new RegExp(`ERROR.*${failing.statusMessage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(await detail.textContent(), new RegExp(failing.spanId));
    assert.ok((await detail.getByTestId('span-attributes').locator('tr').count()) > 0);
    await page.waitForURL(`**/trace/${traceId}?span=${failing.spanId}`);
    await screenshot(page, 'trace-span-detail');
    // The link with ?span= reopens the same span.
    await page.reload();
    await page.getByTestId('span-detail').waitFor();
    assert.match(await page.getByTestId('span-detail').textContent(), new RegExp(failing.spanId));
    // Escape closes the panel from the keyboard.
    await page.getByTestId('waterfall-body').focus();
    await page.keyboard.press('Escape');
    await page.getByTestId('span-detail').waitFor({ state: 'detached' });
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the keyboard moves through and folds the tree; collapse hides a subtree', async () => {
    const { traceId, spans } = await knownErrorTrace(context.weft);
    const root = spans.find((span) => span.parentSpanId === null);
    const page = await openPage(context.browser, context.weft, { height: 1400 });
    await page.goto(`/trace/${traceId}`);
    await page.getByTestId('waterfall-body').focus();
    await page.keyboard.press('Home');
    const selected = () => page.locator('[data-testid="span-row"][aria-selected="true"]').getAttribute('data-span-id');
    assert.equal(await selected(), root.spanId);
    await page.keyboard.press('ArrowDown');
    assert.notEqual(await selected(), root.spanId);
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), '1');
    assert.match(await page.getByTestId('span-row').first().textContent(), new RegExp(`\\+${spans.length - 1}`));
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), String(spans.length));
    // Enter folds the selected span too.
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), '1');
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), String(spans.length));
    await page.getByRole('button', { name: 'Collapse all' }).click();
    assert.ok(Number(await page.getByTestId('waterfall').getAttribute('data-row-count')) < spans.length);
    await page.getByRole('button', { name: 'Expand all' }).click();
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), String(spans.length));
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('find in trace matches the right spans and Enter walks them from the first; raw JSON shows the OTLP answer', async () => {
    const { traceId, spans } = await knownErrorTrace(context.weft);
    const expected = new Set(spans.filter((span) => span.findText.includes('declined')).map((span) => span.spanId));
    assert.ok(expected.size > 0, 'the failing payment span says the card was declined');
    const page = await openPage(context.browser, context.weft, { height: 1400 });
    await page.goto(`/trace/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    await page.keyboard.press('/');
    await page.keyboard.type('declined');
    await page.getByTestId('trace-search-count').waitFor();
    assert.equal(await page.getByTestId('trace-search-count').textContent(), `1 of ${expected.size}`);
    const matchedRows = await page.locator('.waterfall-row.search-match').evaluateAll((rows) => rows.map((row) => row.dataset.spanId));
    assert.deepEqual(new Set(matchedRows), expected);
    // The first Enter selects the first match (in waterfall order), the next Enter the second.
    await page.keyboard.press('Enter');
    await page.getByTestId('span-detail').waitFor();
    const selected = () => page.locator('[data-testid="span-row"][aria-selected="true"]').getAttribute('data-span-id');
    assert.equal(await selected(), matchedRows[0]);
    if (matchedRows.length > 1) {
      await page.keyboard.press('Enter');
      assert.equal(await selected(), matchedRows[1]);
      assert.equal(await page.getByTestId('trace-search-count').textContent(), `2 of ${expected.size}`);
    }
    await screenshot(page, 'trace-find');
    await page.getByTestId('raw-json-toggle').click();
    const raw = await page.getByTestId('raw-json').textContent();
    assert.match(raw, /"resourceSpans"/);
    assert.match(raw, new RegExp(traceId));
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the minimap zooms to a dragged range, pans from the keyboard, and resets', async () => {
    const { traceId } = await knownErrorTrace(context.weft);
    const page = await openPage(context.browser, context.weft);
    await page.goto(`/trace/${traceId}`);
    const strip = page.getByTestId('trace-minimap-strip');
    await strip.waitFor();
    const box = await strip.boundingBox();
    const firstTick = () => page.getByTestId('time-ruler').locator('.ruler-label').first().textContent();
    assert.equal(await firstTick(), '0 ns');
    const resetZoom = page.getByRole('button', { name: 'Reset zoom' });
    assert.equal(await resetZoom.isDisabled(), true);
    // Drag over the middle half of the overview.
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    assert.equal(await resetZoom.isDisabled(), false);
    const zoomedFirstTick = await firstTick();
    assert.notEqual(zoomedFirstTick, '0 ns', 'the ruler starts inside the trace after zooming');
    await screenshot(page, 'trace-zoomed');
    await strip.focus();
    await page.keyboard.press('Home');
    assert.equal(await firstTick(), '0 ns', 'Home pans the window to the trace start');
    await page.keyboard.press('ArrowRight');
    assert.notEqual(await firstTick(), '0 ns');
    await resetZoom.click();
    assert.equal(await firstTick(), '0 ns');
    assert.equal(await resetZoom.isDisabled(), true);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('an unknown trace says it was not found, a malformed ID says why', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/trace/0123456789abcdef0123456789abcdef');
    await page.getByTestId('trace-not-found').waitFor();
    await page.goto('/trace/not-a-trace-id');
    await page.getByTestId('error-banner').waitFor();
    assert.match(await page.getByTestId('error-banner').textContent(), /not a trace ID/);
    // Broken percent-encoding in the path is a page that does not exist, not a blank app.
    await page.goto('/trace/%E0%A4%A');
    await page.getByTestId('not-found').waitFor();
    await page.context().close();
  });
}
