// Runs last: its 100k-span synthetic trace (ten made-up services) would otherwise show up in
// the other modules' service lists and maps.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildBigTrace, sendTrace } from './big-trace.mjs';
import { openPage, screenshot, waitFor } from './harness.mjs';

/**
 * The span the waterfall shows last: the last in pre-order, with children ordered by start
 * time, then span ID.
 */
function lastInWaterfallOrder(trace) {
  const byId = new Map(trace.spans.map(({ span }) => [span.spanId, span]));
  const children = new Map();
  for (const { span } of trace.spans) {
    if (!span.parentSpanId) continue;
    if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
    children.get(span.parentSpanId).push(span);
  }
  let node = trace.spans.find(({ span }) => !span.parentSpanId).span;
  for (;;) {
    const kids = children.get(node.spanId);
    if (!kids) return node.spanId;
    node = kids.reduce((last, kid) => {
      const byStart = BigInt(kid.startTimeUnixNano) - BigInt(last.startTimeUnixNano);
      return byStart > 0n || (byStart === 0n && kid.spanId > last.spanId) ? kid : last;
    });
    if (!byId.has(node.spanId)) return node.spanId;
  }
}

export function register(context) {
  it('a 100k-span trace renders all its rows virtually and scrolls to the last span', async () => {
    const trace = buildBigTrace({ spanCount: 100_000 });
    await sendTrace(context.weft, trace);
    await waitFor('the big trace to be stored', async () => {
      const response = await fetch(`${context.weft.baseUrl}/api/v1/search?traceIdPrefix=${trace.traceId}&lookback=1h`);
      const body = await response.json();
      return body.traces?.[0]?.spanCount === 100_000;
    }, 60_000);
    const page = await openPage(context.browser, context.weft);
    await page.goto(`/trace/${trace.traceId}`);
    await page.getByTestId('waterfall').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('trace-span-count').textContent(), '100000');
    assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), '100000');
    const rendered = await page.getByTestId('span-row').count();
    assert.ok(rendered < 200, `only the rows in view are in the DOM, not ${rendered}`);
    await page.getByTestId('waterfall-body').focus();
    await page.keyboard.press('End');
    const selected = page.locator('[data-testid="span-row"][aria-selected="true"]');
    assert.equal(await selected.getAttribute('data-span-id'), lastInWaterfallOrder(trace), 'End selects the last row');
    assert.ok(await selected.isVisible(), 'and scrolls it into view');
    await screenshot(page, 'trace-100k');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });
}
