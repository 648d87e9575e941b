// The web UI served by a distributed `weft query` node (over ClickHouse), driven in Debian
// Chromium by the Rust end-to-end test that started the cluster:
//   node e2e/query-node.mjs <base-url> <service> <trace-id> <span-count>
// The search page lists the trace for its service; its trace page shows every span; no page
// errors. Screenshots: ui/e2e/screenshots/query-node-*.png.
import assert from 'node:assert/strict';
import { launchBrowser, openPage, screenshot } from './harness.mjs';

const [baseUrl, service, traceId, spanCount] = process.argv.slice(2);
if (!spanCount) {
  console.error('usage: node e2e/query-node.mjs <base-url> <service> <trace-id> <span-count>');
  process.exit(2);
}
const browser = await launchBrowser();
try {
  const page = await openPage(browser, { baseUrl });
  await page.goto(`/search?service=${encodeURIComponent(service)}&lookback=1h&limit=100`);
  await page.locator('[data-state="ready"] [data-testid="trace-results"]').waitFor();
  const listed = await page
    .getByTestId('trace-row')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-trace-id')));
  assert.ok(listed.includes(traceId), `search for ${service} lists ${listed}, not ${traceId}`);
  await screenshot(page, 'query-node-search');

  await page.goto(`/trace/${traceId}`);
  await page.getByTestId('waterfall').waitFor();
  assert.equal(await page.getByTestId('trace-span-count').textContent(), spanCount);
  assert.equal(await page.getByTestId('waterfall').getAttribute('data-row-count'), spanCount);
  await screenshot(page, 'query-node-trace');
  // The trace page also asks for the trace's diagnosis and sampling decision, which a query
  // node answers with 501 until processors commit them to ClickHouse; nothing else may fail.
  assert.deepEqual(
    page.weftErrors.filter((error) => !/status of 501/.test(error)),
    [],
  );
  console.log(`query node UI: search lists ${listed.length} traces, trace ${traceId} shows ${spanCount} spans`);
} finally {
  await browser.close();
}
