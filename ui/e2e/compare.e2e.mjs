// Trace compare against `weft gen` traffic. A browse trace (frontend `GET /products/{id}`) reads
// the user's profile from Redis; on a cache miss user-service also queries
// `SELECT users.profiles` and writes the cache back with `SET`. Comparing a hit (A) with a miss
// (B) must therefore show those spans as added, and swapping the two as missing. The expected
// counts are computed here from the two traces' OTLP JSON, independently of the UI's code.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildBigTrace, sendTrace } from './big-trace.mjs';
import { openPage, screenshot, waitForPipeline } from './harness.mjs';

const BROWSE_ROOT = { service: 'frontend', operation: 'GET /products/{id}' };
const CHECKOUT_ROOT = { service: 'frontend', operation: 'POST /checkout' };
const PROFILE_QUERY = 'SELECT users.profiles';

/** The trace's spans, flat: service, name, IDs, start and duration (nanoseconds as BigInt). */
function flatSpans(otlp) {
  const spans = [];
  for (const resourceSpans of otlp.resourceSpans ?? []) {
    const service =
      resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value?.stringValue ??
      'unknown_service';
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        const start = BigInt(span.startTimeUnixNano);
        const end = BigInt(span.endTimeUnixNano);
        spans.push({
          service,
          name: span.name,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || null,
          start,
          duration: end > start ? end - start : 0n,
          attributes: span.attributes ?? [],
        });
      }
    }
  }
  return spans;
}

/**
 * Paths as the issue defines them: (service, name) steps from the root, each with its index
 * among earlier siblings (by start time) of the same service and name.
 */
function pathDurations(spans) {
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    if (span.parentSpanId !== null && byId.has(span.parentSpanId)) {
      if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
      children.get(span.parentSpanId).push(span);
    } else {
      roots.push(span);
    }
  }
  const order = (list) =>
    [...list].sort((left, right) =>
      left.start !== right.start ? (left.start < right.start ? -1 : 1) : left.spanId < right.spanId ? -1 : 1,
    );
  const paths = new Map();
  const walk = (siblings, prefix) => {
    const seen = new Map();
    for (const span of order(siblings)) {
      const stepKey = JSON.stringify([span.service, span.name]);
      const occurrence = seen.get(stepKey) ?? 0;
      seen.set(stepKey, occurrence + 1);
      const path = `${prefix}/${JSON.stringify([span.service, span.name, occurrence])}`;
      paths.set(path, span.duration);
      walk(children.get(span.spanId) ?? [], path);
    }
  };
  walk(roots, '');
  return paths;
}

/** The status of a path from its two spans (null when absent), with the page's default 10 % threshold. */
function pathStatus(spanA, spanB, threshold = 0.1) {
  if (spanB === null) return 'missing';
  if (spanA === null) return 'added';
  const a = Number(spanA.duration);
  const delta = Number(spanB.duration) - a;
  const relative = a > 0 ? delta / a : delta === 0 ? 0 : Infinity;
  if (Math.abs(relative) <= threshold) return 'unchanged';
  return delta > 0 ? 'slower' : 'faster';
}

/**
 * The merged tree of A and B as the issue defines it, from the traces' OTLP JSON: A's paths in
 * A's order (siblings by start time), paths only in B after their siblings from A. Each node:
 * `{ service, name, status, children }`.
 */
function alignedTree(spansA, spansB) {
  const index = (spans) => {
    const ids = new Set(spans.map((span) => span.spanId));
    const children = new Map();
    const roots = [];
    for (const span of spans) {
      if (span.parentSpanId !== null && ids.has(span.parentSpanId)) {
        if (!children.has(span.parentSpanId)) children.set(span.parentSpanId, []);
        children.get(span.parentSpanId).push(span);
      } else {
        roots.push(span);
      }
    }
    return { roots, childrenOf: (span) => children.get(span.spanId) ?? [] };
  };
  const stepped = (siblings) => {
    const seen = new Map();
    return [...siblings]
      .sort((left, right) => (left.start !== right.start ? (left.start < right.start ? -1 : 1) : left.spanId < right.spanId ? -1 : 1))
      .map((span) => {
        const stepKey = JSON.stringify([span.service, span.name]);
        const occurrence = seen.get(stepKey) ?? 0;
        seen.set(stepKey, occurrence + 1);
        return { key: JSON.stringify([span.service, span.name, occurrence]), span };
      });
  };
  const treeA = index(spansA);
  const treeB = index(spansB);
  const merge = (siblingsA, siblingsB) => {
    const stepsA = stepped(siblingsA);
    const stepsB = stepped(siblingsB);
    const inB = new Map(stepsB.map(({ key, span }) => [key, span]));
    const inA = new Set(stepsA.map(({ key }) => key));
    const nodes = [];
    for (const { key, span } of stepsA) {
      const other = inB.get(key) ?? null;
      nodes.push({
        service: span.service,
        name: span.name,
        status: pathStatus(span, other),
        children: merge(treeA.childrenOf(span), other === null ? [] : treeB.childrenOf(other)),
      });
    }
    for (const { key, span } of stepsB) {
      if (!inA.has(key)) {
        nodes.push({ service: span.service, name: span.name, status: 'added', children: merge([], treeB.childrenOf(span)) });
      }
    }
    return nodes;
  };
  return merge(treeA.roots, treeB.roots);
}

/**
 * The rows the page should show of `tree` with `hidden` statuses filtered out: matching rows
 * and, as context, their ancestors; in pre-order.
 */
function visibleRows(tree, hidden) {
  const visit = (node) => {
    const below = node.children.flatMap(visit);
    const matches = !hidden.has(node.status);
    if (!matches && below.length === 0) return [];
    return [{ service: node.service, name: node.name, status: node.status, context: !matches }, ...below];
  };
  return tree.flatMap(visit);
}

/** Statuses whose chip is switched off. */
async function hiddenStatuses(page) {
  const chips = page.locator('.cmp-chip[aria-pressed="false"]');
  return new Set(await chips.evaluateAll((elements) => elements.map((element) => element.dataset.status)));
}

/**
 * Every shown row, read by walking the tree with the keyboard (Home, then ↓ to the last row):
 * the tree only renders rows near the viewport, so counting DOM rows would depend on the
 * window's height. Leaves the last row selected.
 */
async function walkRows(page) {
  const total = Number(await page.getByRole('treegrid').getAttribute('aria-rowcount')) - 1;
  await page.locator('[data-testid="compare-row"][tabindex="0"]').focus();
  await page.keyboard.press('Home');
  const rows = [];
  for (let index = 0; index < total; index += 1) {
    if (index > 0) await page.keyboard.press('ArrowDown');
    await page.waitForFunction((expected) => document.activeElement?.getAttribute('data-visible-index') === String(expected), index);
    rows.push(
      await page.evaluate(() => {
        const row = document.activeElement;
        return {
          service: row.dataset.service,
          name: row.dataset.spanName,
          status: row.dataset.status,
          context: row.classList.contains('cmp-row-context'),
          count: row.querySelector('[data-testid="compare-count"]')?.textContent.trim() ?? null,
        };
      }),
    );
  }
  // The last row is the last: ↓ stays on it.
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-visible-index')), String(total - 1));
  return rows;
}

const withoutCount = ({ service, name, status, context }) => ({ service, name, status, context });

const detailTitle = (page, name) =>
  page.waitForFunction((expected) => document.querySelector('[data-testid="compare-detail"] h2')?.textContent === expected, name);

/** Counts per status for A = base, B = other, with the page's default 10 % threshold. */
function expectedCounts(spansA, spansB) {
  const pathsA = pathDurations(spansA);
  const pathsB = pathDurations(spansB);
  const counts = { added: 0, missing: 0, slower: 0, faster: 0, unchanged: 0 };
  for (const [path, durationA] of pathsA) {
    const durationB = pathsB.get(path);
    if (durationB === undefined) counts.missing += 1;
    else {
      const a = Number(durationA);
      const delta = Number(durationB) - a;
      const relative = a > 0 ? delta / a : delta === 0 ? 0 : Infinity;
      if (Math.abs(relative) <= 0.1) counts.unchanged += 1;
      else if (delta > 0) counts.slower += 1;
      else counts.faster += 1;
    }
  }
  for (const path of pathsB.keys()) if (!pathsA.has(path)) counts.added += 1;
  return counts;
}

function cacheHit(spans) {
  const get = spans.find((span) => span.service === 'user-service' && span.name === 'GET');
  return get?.attributes.find((attribute) => attribute.key === 'cache.hit')?.value?.boolValue;
}

async function tracesOf(weft, root, limit = 100) {
  const query = new URLSearchParams({ rootService: root.service, rootOperation: root.operation, lookback: '24h', limit: String(limit) });
  const { traces } = await weft.getJson(`/api/v1/search?${query}`);
  return traces;
}

async function spansOf(weft, traceId) {
  return flatSpans(await weft.getJson(`/api/v1/traces/${traceId}`));
}

/** Whether a span's parent is missing from the trace (the generator's broken traces). */
function hasOrphan(spans) {
  const ids = new Set(spans.map((span) => span.spanId));
  return spans.some((span) => span.parentSpanId !== null && !ids.has(span.parentSpanId));
}

/**
 * A browse trace with a cache hit and one with a miss (the profile query), from the API. Both
 * whole: in a broken trace (its spans' parents dropped by the generator) the compared spans sit
 * at other places in the tree, which is not what this compares.
 */
async function hitAndMiss(weft) {
  let hit = null;
  let miss = null;
  for (const summary of await tracesOf(weft, BROWSE_ROOT)) {
    if (summary.errorCount > 0) continue;
    const spans = await spansOf(weft, summary.traceId);
    if (hasOrphan(spans)) continue;
    const hasQuery = spans.some((span) => span.name === PROFILE_QUERY);
    if (cacheHit(spans) === true && !hasQuery && hit === null) hit = { traceId: summary.traceId, spans };
    if (cacheHit(spans) === false && hasQuery && miss === null) miss = { traceId: summary.traceId, spans };
    if (hit && miss) return { hit, miss };
  }
  throw new Error('weft gen produced no browse traces with both a cache hit and a cache miss');
}

async function summaryCounts(page) {
  const summary = page.getByTestId('compare-summary');
  await summary.waitFor();
  const counts = {};
  for (const status of ['added', 'missing', 'slower', 'faster', 'unchanged']) {
    counts[status] = Number(await summary.getAttribute(`data-${status}`));
  }
  return counts;
}

export function register(context) {
  it('compare shows the profile query a cache miss adds, and swapping makes it missing', async () => {
    const { weft } = context;
    const { hit, miss } = await hitAndMiss(weft);
    const page = await openPage(context.browser, weft);
    await page.goto(`/compare?a=${hit.traceId}&b=${miss.traceId}`);

    assert.deepEqual(await summaryCounts(page), expectedCounts(hit.spans, miss.spans));
    const query = page.locator(`[data-testid="compare-row"][data-span-name="${PROFILE_QUERY}"]`);
    assert.equal(await query.count(), 1);
    assert.equal(await query.getAttribute('data-status'), 'added');
    assert.equal(await query.getAttribute('data-service'), 'user-service');
    const cacheWrite = page.locator('[data-testid="compare-row"][data-service="user-service"][data-span-name="SET"]');
    assert.equal(await cacheWrite.getAttribute('data-status'), 'added');
    // Both headers link to their trace pages.
    assert.equal(await page.getByTestId('compare-open-a').getAttribute('href'), `/trace/${hit.traceId}`);
    assert.equal(await page.getByTestId('compare-open-b').getAttribute('href'), `/trace/${miss.traceId}`);

    // Selecting the Redis GET shows why: cache.hit differs between the two spans.
    await page.locator('[data-testid="compare-row"][data-service="user-service"][data-span-name="GET"]').click();
    const detail = page.getByTestId('compare-detail');
    await detail.waitFor();
    const differing = detail.locator('tr.cmp-attribute-differs', { hasText: 'cache.hit' });
    assert.equal(await differing.count(), 1);
    assert.match(await differing.textContent(), /true.*false/);
    await screenshot(page, 'compare-hit-vs-miss');

    // The rows can be reached and walked with the keyboard, in the order the two traces give.
    const tree = alignedTree(hit.spans, miss.spans);
    const hidden = await hiddenStatuses(page);
    const expected = visibleRows(tree, hidden);
    assert.ok(expected.length >= 2);
    await page.locator('[data-testid="compare-row"][tabindex="0"]').focus();
    const focusedRow = () =>
      page.evaluate(() => [document.activeElement?.getAttribute('data-testid'), document.activeElement?.getAttribute('data-visible-index')]);
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-visible-index') === '0');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-span-name')), BROWSE_ROOT.operation);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-visible-index') === '1');
    assert.deepEqual(await focusedRow(), ['compare-row', '1']);
    // The detail panel follows the focused row.
    await detailTitle(page, expected[1].name);
    assert.deepEqual((await walkRows(page)).map(withoutCount), expected);

    // Swapping reuses both loaded traces: no trace is fetched again.
    const traceRequests = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/traces/')) traceRequests.push(request.url());
    });
    await page.getByTestId('compare-swap').click();
    await page.waitForURL(`**/compare?a=${miss.traceId}&b=${hit.traceId}*`);
    await page.waitForFunction(
      (name) => document.querySelector(`[data-testid="compare-row"][data-span-name="${name}"]`)?.getAttribute('data-status') === 'missing',
      PROFILE_QUERY,
    );
    assert.deepEqual(await summaryCounts(page), expectedCounts(miss.spans, hit.spans));
    assert.deepEqual(traceRequests, []);
    await screenshot(page, 'compare-miss-vs-hit');

    // Focus and selection stay on the same path when a filter shifts the rows around it.
    const cacheWriteSelector = '[data-testid="compare-row"][data-service="user-service"][data-span-name="SET"]';
    const cacheWriteRow = page.locator(cacheWriteSelector);
    const swappedTree = alignedTree(miss.spans, hit.spans);
    const indexOfSet = (rows) => rows.findIndex((row) => row.service === 'user-service' && row.name === 'SET');
    const waitForSetAt = (index) =>
      page.waitForFunction(
        ([selector, expected]) => document.querySelector(selector)?.getAttribute('data-visible-index') === String(expected),
        [cacheWriteSelector, index],
      );
    const toggled = (hidden, status) => {
      const next = new Set(hidden);
      if (next.has(status)) next.delete(status);
      else next.add(status);
      return next;
    };
    // A status whose chip moves the SET row (the Redis GET before it is never missing).
    let start = await hiddenStatuses(page);
    const chip = ['added', 'missing', 'slower', 'faster', 'unchanged'].find((status) => {
      const moved = indexOfSet(visibleRows(swappedTree, toggled(start, status)));
      return moved >= 0 && moved !== indexOfSet(visibleRows(swappedTree, start));
    });
    assert.ok(chip, 'some status filter moves the SET row');
    let end = toggled(start, chip);
    if (indexOfSet(visibleRows(swappedTree, end)) < indexOfSet(visibleRows(swappedTree, start))) {
      // Showing rows above the selected one is what a stored position gets wrong: start hidden.
      await page.locator(`.cmp-chip[data-status="${chip}"]`).click();
      [start, end] = [end, start];
      await waitForSetAt(indexOfSet(visibleRows(swappedTree, start)));
    }
    await cacheWriteRow.click();
    await detailTitle(page, 'SET');
    await page.locator(`.cmp-chip[data-status="${chip}"]`).click();
    const rowsAfter = visibleRows(swappedTree, end);
    const setIndex = indexOfSet(rowsAfter);
    assert.ok(setIndex > indexOfSet(visibleRows(swappedTree, start)));
    await waitForSetAt(setIndex);
    assert.equal(await cacheWriteRow.getAttribute('tabindex'), '0');
    assert.equal(await cacheWriteRow.getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('[data-testid="compare-row"][tabindex="0"]').count(), 1);
    assert.equal(await page.locator('[data-testid="compare-row"][aria-selected="true"]').count(), 1);
    // Tabbing back into the tree lands on it, and the keys move on from there.
    await page.locator('[data-testid="compare-row"][tabindex="0"]').focus();
    await page.keyboard.press('ArrowUp');
    await page.waitForFunction((index) => document.activeElement?.getAttribute('data-visible-index') === String(index), setIndex - 1);
    await detailTitle(page, rowsAfter[setIndex - 1].name);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('filters rows by status from the summary, and reads well in dark mode', async () => {
    const { weft } = context;
    const { hit, miss } = await hitAndMiss(weft);
    const page = await openPage(context.browser, weft, { colorScheme: 'dark' });
    await page.goto(`/compare?a=${hit.traceId}&b=${miss.traceId}&hide=none`);
    const counts = await summaryCounts(page);
    await page.getByTestId('compare-row').first().waitFor();
    await screenshot(page, 'compare-dark');
    const all = await walkRows(page);
    assert.equal(all.length, Object.values(counts).reduce((sum, count) => sum + count, 0));
    assert.deepEqual(all.map(withoutCount), visibleRows(alignedTree(hit.spans, miss.spans), new Set()));
    // Start over without the selection the walk left behind.
    await page.reload();
    await page.getByTestId('compare-row').first().waitFor();

    // Only added: the two added spans and, greyed, their ancestors.
    for (const status of ['missing', 'slower', 'faster', 'unchanged']) {
      await page.locator(`.cmp-chip[data-status="${status}"]`).click();
      await page.waitForURL(new RegExp(`hide=[^&]*${status}`));
    }
    await page.waitForFunction(() => document.querySelectorAll('.cmp-row-context').length > 0);
    assert.ok(page.url().includes('hide='), 'the filter is kept in the URL');
    await page.mouse.move(0, 0);
    await screenshot(page, 'compare-only-added-dark');
    const shown = (await walkRows(page)).filter((row) => !row.context).map((row) => row.status);
    assert.deepEqual(shown, Array(counts.added).fill('added'));
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('a checkout with more cart items shows the extra stock queries as added, with their counts', async () => {
    const { weft } = context;
    const checkouts = (await tracesOf(weft, CHECKOUT_ROOT, 60)).filter((trace) => trace.errorCount === 0);
    const stockQueries = async (traceId) =>
      (await spansOf(weft, traceId)).filter((span) => span.service === 'inventory-service' && span.name === 'SELECT inventory.stock');
    let pair = null;
    const counted = [];
    for (const summary of checkouts) {
      const queries = (await stockQueries(summary.traceId)).length;
      const fewer = counted.find((other) => other.queries > 0 && other.queries < queries);
      if (fewer) {
        pair = { a: fewer, b: { traceId: summary.traceId, queries } };
        break;
      }
      counted.push({ traceId: summary.traceId, queries });
    }
    assert.ok(pair, 'two checkouts with different cart sizes');
    const page = await openPage(context.browser, weft);
    await page.goto(`/compare?a=${pair.a.traceId}&b=${pair.b.traceId}`);
    await page.getByTestId('compare-summary').waitFor();
    await page.getByTestId('compare-row').first().waitFor();
    await screenshot(page, 'compare-checkout');
    const walked = await walkRows(page);
    const tree = alignedTree(await spansOf(weft, pair.a.traceId), await spansOf(weft, pair.b.traceId));
    assert.deepEqual(walked.map(withoutCount), visibleRows(tree, await hiddenStatuses(page)));
    const stockRows = walked.filter((row) => row.service === 'inventory-service' && row.name === 'SELECT inventory.stock');
    assert.equal(stockRows.filter((row) => row.status === 'added').length, pair.b.queries - pair.a.queries);
    assert.equal(stockRows[0].count, `×${pair.a.queries} → ×${pair.b.queries}`);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the picker lists traces of A’s operation and picking one compares it', async () => {
    const { weft } = context;
    const [reference] = await tracesOf(weft, BROWSE_ROOT, 1);
    const referenceStart = (await spansOf(weft, reference.traceId)).reduce((earliest, span) => (span.start < earliest ? span.start : earliest), 2n ** 64n);
    const page = await openPage(context.browser, weft);
    const candidateSearch = page.waitForRequest((request) => request.url().includes('/api/v1/search?') && request.url().includes('rootOperation='));
    await page.goto(`/compare?a=${reference.traceId}`);
    await page.getByTestId('compare-picker').waitFor();
    // Candidates are searched around A's own start: 30 minutes either side, in Unix nanoseconds.
    const params = new URL((await candidateSearch).url()).searchParams;
    assert.equal(params.get('lookback'), null);
    assert.equal(params.get('start'), String(referenceStart - 1_800_000_000_000n));
    assert.equal(params.get('end'), String(referenceStart + 1_800_000_000_000n));
    assert.deepEqual([params.get('rootService'), params.get('rootOperation')], [BROWSE_ROOT.service, BROWSE_ROOT.operation]);
    const candidates = page.getByTestId('compare-candidate');
    await candidates.first().waitFor();
    const ids = await candidates.evaluateAll((rows) => rows.map((row) => row.dataset.traceId));
    assert.ok(ids.length > 1);
    assert.ok(!ids.includes(reference.traceId), 'A is not offered as B');
    // Every candidate has A's root service and operation.
    const query = new URLSearchParams({ traceIdPrefix: ids[0], lookback: '24h' });
    const [first] = (await weft.getJson(`/api/v1/search?${query}`)).traces;
    assert.deepEqual([first.rootServiceName, first.rootSpanName], [BROWSE_ROOT.service, BROWSE_ROOT.operation]);
    await screenshot(page, 'compare-picker');

    const picked = ids[1];
    const traceRequests = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/traces/')) traceRequests.push(new URL(request.url()).pathname);
    });
    await page.getByRole('button', { name: `Compare ${picked} with A` }).click();
    await page.waitForURL(`**/compare?a=${reference.traceId}&b=${picked}`);
    await page.getByTestId('compare-summary').waitFor();
    assert.ok((await page.getByTestId('compare-row').count()) > 0);
    // A was loaded by the picker already: only B is fetched.
    assert.deepEqual(traceRequests, [`/api/v1/traces/${picked}`]);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the picker finds traces of an A from hours ago, around A’s own start', async () => {
    const { weft } = context;
    const hour = 3_600_000_000_000n;
    const now = BigInt(Date.now()) * 1_000_000n;
    // Three runs of the same batch job (root edge · "load item-0"): two about three hours ago,
    // one six hours ago, so far outside A's window.
    const [reference, sibling, distant] = [
      buildBigTrace({ spanCount: 12, seed: 9101, endUnixNanos: now - 3n * hour }),
      buildBigTrace({ spanCount: 15, seed: 9102, endUnixNanos: now - 3n * hour + 600_000_000_000n }),
      buildBigTrace({ spanCount: 12, seed: 9103, endUnixNanos: now - 6n * hour }),
    ];
    for (const trace of [reference, sibling, distant]) await sendTrace(weft, trace);
    await waitForPipeline(weft);
    const page = await openPage(context.browser, weft);
    await page.goto(`/compare?a=${reference.traceId}`);
    await page.getByTestId('compare-trace-a').waitFor();
    await page.getByTestId('compare-candidate').first().waitFor();
    const ids = await page.getByTestId('compare-candidate').evaluateAll((rows) => rows.map((row) => row.dataset.traceId));
    assert.deepEqual(ids, [sibling.traceId]);
    await page.getByRole('button', { name: `Compare ${sibling.traceId} with A` }).click();
    await page.waitForURL(`**/compare?a=${reference.traceId}&b=${sibling.traceId}`);
    const counts = await summaryCounts(page);
    assert.equal(Object.values(counts).reduce((sum, count) => sum + count, 0) > 0, true);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('restores the document title when leaving the page', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    const title = await page.title();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compare' }).click();
    await page.getByTestId('compare-picker').waitFor();
    // The page sets its title in an effect after it renders: wait for it, do not race it.
    const titleBecomes = (expected) =>
      page.waitForFunction((wanted) => document.title === wanted, expected, { timeout: 5000 }).catch(() => {});
    await titleBecomes('Compare traces · Weft');
    assert.equal(await page.title(), 'Compare traces · Weft');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await page.waitForURL('**/search');
    await titleBecomes(title);
    assert.equal(await page.title(), title);
    await page.context().close();
  });

  it('the empty picker offers recent traces and takes IDs', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/compare');
    await page.getByTestId('compare-picker').waitFor();
    const recent = page.getByTestId('compare-recent');
    await recent.first().waitFor();
    const traceId = await recent.first().getAttribute('data-trace-id');
    await screenshot(page, 'compare-picker-empty');
    await page.getByRole('textbox', { name: 'Trace A (baseline)' }).fill('not-hex');
    await page.getByRole('button', { name: 'Find traces like A' }).click();
    await page.getByRole('alert').filter({ hasText: 'hex digits' }).waitFor();
    assert.equal(new URL(page.url()).search, '');
    await page.getByRole('textbox', { name: 'Trace A (baseline)' }).fill(` ${traceId.toUpperCase()} `);
    await page.getByRole('button', { name: 'Find traces like A' }).click();
    await page.waitForURL(`**/compare?a=${traceId}`);
    await page.getByTestId('compare-trace-a').waitFor();
    await page.getByTestId('compare-candidate').first().waitFor();
    assert.deepEqual(page.weftErrors.filter((error) => !/status of 4\d\d/.test(error)), []);
    await page.context().close();
  });

  it('an unknown or malformed trace ID shows an error naming it; the same trace twice says so', async () => {
    const { weft } = context;
    const [known] = await tracesOf(weft, BROWSE_ROOT, 1);
    const unknown = 'ffffffffffffffffffffffffffffff01';
    const page = await openPage(context.browser, weft);
    await page.goto(`/compare?a=${known.traceId}&b=${unknown}`);
    const banner = page.getByTestId('error-banner');
    await banner.waitFor();
    assert.equal(await banner.count(), 1);
    const text = await banner.textContent();
    assert.match(text, /Trace B/);
    assert.match(text, new RegExp(`${unknown}.*not found`));
    assert.match(text, /HTTP 404/);
    // The IDs stay editable to fix the mistake.
    assert.equal(await page.getByRole('textbox', { name: 'Trace B (compared with A)' }).inputValue(), unknown);
    await screenshot(page, 'compare-unknown-trace');

    await page.goto(`/compare?a=zz&b=${known.traceId}`);
    await page.getByTestId('error-banner').waitFor();
    assert.match(await page.getByTestId('error-banner').textContent(), /Trace A \(zz\).*invalid trace id.*HTTP 400/);

    await page.goto(`/compare?a=${known.traceId}&b=${known.traceId.toUpperCase()}`);
    await page.getByTestId('compare-same-trace').waitFor();
    const counts = await summaryCounts(page);
    assert.equal(counts.unchanged, known.spanCount);
    assert.equal(counts.added + counts.missing + counts.slower + counts.faster, 0);
    // Chromium logs failed fetches (404, 400) as console errors; nothing else may fail.
    assert.deepEqual(page.weftErrors.filter((error) => !/status of 40[04]/.test(error)), []);
    await page.context().close();
  });
}
