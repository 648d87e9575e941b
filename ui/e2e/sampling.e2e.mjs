// The trace page's Sampling section against a real `weft serve` (default settings: shards stay
// open for the 30 min cold delay) fed by `weft gen`. What the page must show is computed from
// the API's own answers (`/api/v1/sampling/explain/{id}`, `/api/v1/traces/{id}`).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot } from './harness.mjs';

/** The badge text for each decision (ui/src/lib/sampling.ts, describeDecision). */
const DECISION_LABELS = { kept: 'Kept', not_kept: 'Not kept', pending: 'Pending', unknown: 'Unknown' };

/** Span ID → whether its status is ERROR, from an OTLP/JSON trace answer. */
function spanErrors(tracesData) {
  const errors = new Map();
  for (const resourceSpans of tracesData.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) errors.set(span.spanId.toLowerCase(), span.status?.code === 2);
    }
  }
  return errors;
}

/** The distinct `rule/spanId` pairs of an explain answer, as the section lists them. */
function rulePairs(explanation) {
  return new Set(explanation.rules.map((match) => `${match.rule}/${match.spanId.toLowerCase()}`));
}

/** "1 span", "12 spans", "1,234 spans" (ui/src/lib/sampling.ts, formatSpanCount). */
function spanCount(count) {
  return `${count.toLocaleString('en-US')} ${count === 1 ? 'span' : 'spans'}`;
}

/** Opens the trace page and waits until the Sampling section has its answer. */
async function openTrace(context, traceId, options = {}) {
  const page = await openPage(context.browser, context.weft, { height: 1600, ...options });
  await page.goto(`/trace/${traceId}`);
  await page.getByTestId('waterfall').waitFor();
  const section = page.getByTestId('sampling-section');
  await section.getByTestId('sampling-decision').waitFor();
  return { page, section };
}

/** The section's rule rows as `rule/spanId` pairs. */
async function shownRulePairs(section) {
  const rows = await section
    .getByTestId('sampling-rule-row')
    .evaluateAll((elements) => elements.map((element) => `${element.dataset.rule}/${element.dataset.spanId}`));
  assert.equal(new Set(rows).size, rows.length, 'each rule lists a span once');
  return new Set(rows);
}

export function register(context) {
  it('the Sampling section says an error trace is kept and links the error rule to a failing span', async () => {
    const { weft } = context;
    const search = await weft.getJson('/api/v1/search?service=payment-service&status=error&lookback=1h&limit=1');
    assert.ok(search.traces.length > 0, 'weft gen sent at least one failing checkout');
    const traceId = search.traces[0].traceId;
    const traceResponse = await fetch(`${weft.baseUrl}/api/v1/traces/${traceId}`);
    assert.equal(traceResponse.status, 200);
    const tier = traceResponse.headers.get('weft-tier');
    const errors = spanErrors(await traceResponse.json());
    const explanation = await weft.getJson(`/api/v1/sampling/explain/${traceId}`);
    // What the server must say under default settings, before the test relies on it.
    assert.equal(explanation.decision, 'kept', 'an error trace is kept for the cold tier');
    const errorRuleSpans = [...new Set(explanation.rules.filter((match) => match.rule === 'error').map((match) => match.spanId.toLowerCase()))];
    assert.ok(errorRuleSpans.length > 0, 'the error rule holds on at least one span');
    for (const spanId of errorRuleSpans) assert.equal(errors.get(spanId), true, `the error rule holds on span ${spanId}, which is in error`);
    assert.ok(explanation.shards.length > 0, 'the trace falls in at least one shard window');

    const { page, section } = await openTrace(context, traceId);
    assert.equal(await page.getByTestId('trace-tier-badge').count(), tier === 'cold' ? 1 : 0);
    // Collapsed by default, with the decision and the server's sentence on its one line.
    assert.equal(await section.evaluate((details) => details.open), false);
    const badge = section.getByTestId('sampling-decision');
    assert.equal(await badge.textContent(), DECISION_LABELS.kept);
    assert.equal(await badge.getAttribute('data-decision'), 'kept');
    assert.ok((await section.locator('summary').textContent()).includes(explanation.summary));

    // Opens from the keyboard.
    await section.locator('summary').focus();
    await page.keyboard.press('Enter');
    assert.equal(await section.evaluate((details) => details.open), true);
    assert.deepEqual(await shownRulePairs(section), rulePairs(explanation));
    const shardStates = await section.getByTestId('sampling-shard-row').evaluateAll((rows) => rows.map((row) => row.dataset.state));
    assert.deepEqual(shardStates, explanation.shards.map((shard) => shard.state));
    assert.match(
      await section.getByTestId('sampling-default-share').textContent(),
      new RegExp(`random share: this trace ${explanation.defaultShare.inShare ? 'is' : 'is not'} in it$`),
    );
    const tiers = await section.getByTestId('sampling-tiers').textContent();
    assert.ok(tiers.includes(`Hot tier: ${spanCount(explanation.tiers.hot.spans)}`), tiers);
    assert.ok(tiers.includes(`Cold tier: ${spanCount(explanation.tiers.cold.spans)}`), tiers);
    await screenshot(page, 'trace-sampling');

    // The error rule's span link selects that span in the waterfall, and it is a failing span.
    const errorRow = section.locator('[data-testid="sampling-rule-row"][data-rule="error"]').first();
    const spanId = await errorRow.getAttribute('data-span-id');
    assert.ok(errorRuleSpans.includes(spanId));
    await errorRow.getByTestId('sampling-span-link').click();
    const selectedRow = page.locator('[data-testid="span-row"][aria-selected="true"]');
    await page.locator(`[data-testid="span-row"][data-span-id="${spanId}"][aria-selected="true"]`).waitFor();
    assert.equal(await selectedRow.count(), 1);
    assert.equal(await selectedRow.getAttribute('data-error'), 'true');
    await page.getByTestId('span-detail').waitFor();
    assert.match(await page.getByTestId('span-detail').textContent(), new RegExp(spanId));
    await page.waitForURL(`**/trace/${traceId}?span=${spanId}`);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the Sampling badge shows the decision the API gives for a trace without errors', async () => {
    const { weft } = context;
    const search = await weft.getJson('/api/v1/search?lookback=1h&limit=50');
    const trace = search.traces.find((candidate) => candidate.errorCount === 0 && candidate.spanCount < 1_000);
    assert.ok(trace, 'weft gen sent traces without errors');
    const explanation = await weft.getJson(`/api/v1/sampling/explain/${trace.traceId}`);
    assert.ok(Object.hasOwn(DECISION_LABELS, explanation.decision), `a documented decision, not ${explanation.decision}`);

    const { page, section } = await openTrace(context, trace.traceId, { colorScheme: 'dark' });
    const badge = section.getByTestId('sampling-decision');
    assert.equal(await badge.getAttribute('data-decision'), explanation.decision);
    assert.equal(await badge.textContent(), DECISION_LABELS[explanation.decision]);
    assert.ok((await section.locator('summary').textContent()).includes(explanation.summary));
    await section.locator('summary').click();
    assert.equal(await section.evaluate((details) => details.open), true);
    assert.deepEqual(await shownRulePairs(section), rulePairs(explanation));
    await screenshot(page, 'trace-sampling-dark');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });
}
