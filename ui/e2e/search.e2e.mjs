// Browser tests of the search page against a real `weft serve` fed by `weft gen`.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot, waitFor } from './harness.mjs';
import { checkPickerFollowsHistory } from './service-map.e2e.mjs';

/** The trace IDs of the result rows, in table order. */
async function rowIds(page) {
  return page.getByTestId('trace-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-trace-id')));
}

async function rowNumbers(page, attribute) {
  return page.getByTestId('trace-row').evaluateAll((rows, name) => rows.map((row) => Number(row.getAttribute(name))), attribute);
}

/** Waits for the answer to the current URL (an older one stays on screen, dimmed, meanwhile). */
async function waitForResults(page) {
  await page.locator('[data-state="ready"] [data-testid="trace-results"]').waitFor();
}

// The runner waits for the pipeline after `weft gen` (`waitForPipeline`), so the API and the UI
// see the same spans from the first test on.
export function register(context) {
  it('the default search shows a scatter plot and the traces the API answers', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const answer = await context.weft.getJson('/api/v1/search?lookback=1h&limit=20');
    assert.ok(answer.traces.length > 0, 'weft gen produced traces');
    const ids = await rowIds(page);
    assert.equal(ids.length, answer.traces.length);
    assert.deepEqual([...ids].sort(), answer.traces.map((trace) => trace.traceId).sort());
    const points = page.getByTestId('scatter-plot').getByTestId('scatter-point');
    assert.equal(await points.count(), answer.traces.length);
    const summary = await page.getByTestId('result-summary').textContent();
    assert.match(summary, new RegExp(`^${answer.traces.length} traces · scanned [\\d,]+ spans`));
    // The default sort is newest first.
    const starts = await page.getByTestId('trace-row').evaluateAll((rows) => rows.map((row) => row.querySelector('.start-time').getAttribute('title')));
    assert.deepEqual(starts, [...starts].sort().reverse());
    await screenshot(page, 'search-default');

    // Hovering a point explains it; clicking it opens its trace. Two traces of nearly the same
    // start and duration draw overlapping points, and the pointer reaches only the top one:
    // hover a point nothing covers.
    await page.getByTestId('scatter-plot').scrollIntoViewIfNeeded();
    const pointId = await points.evaluateAll((circles) => {
      const uncovered = circles.find((circle) => {
        const box = circle.getBoundingClientRect();
        return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === circle;
      });
      return (uncovered ?? circles[0]).getAttribute('data-trace-id');
    });
    const first = page.locator(`[data-testid="scatter-point"][data-trace-id="${pointId}"]`);
    await first.hover();
    const tooltip = page.getByTestId('scatter-tooltip');
    await tooltip.waitFor();
    assert.match(await tooltip.textContent(), new RegExp(pointId));
    // The hovered point is ringed on top of the others, and its row is highlighted.
    assert.equal(await page.getByTestId('scatter-highlight').getAttribute('data-trace-id'), pointId);
    assert.match(await page.locator(`[data-testid="trace-row"][data-trace-id="${pointId}"]`).getAttribute('class'), /is-highlighted/);
    await screenshot(page, 'search-tooltip');
    assert.deepEqual(page.weftErrors, []);
    await first.click();
    await page.waitForURL(`**/trace/${pointId}`);
    await page.context().close();
  });

  it('the scatter plot works from the keyboard', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const plot = page.getByTestId('scatter-plot');
    assert.match(await plot.getAttribute('aria-label'), /Scatter plot of \d+ traces/);
    await plot.focus();
    await plot.press('ArrowRight');
    // The earliest trace is highlighted in the plot and in the table, and explained. Traces can
    // start in the same nanosecond, and then any of them is the earliest.
    const starts = await page.getByTestId('trace-row').evaluateAll((rows) => rows.map((row) => [row.dataset.traceId, row.dataset.startUnixNano]));
    const first = starts.map(([, start]) => BigInt(start)).reduce((min, start) => (start < min ? start : min));
    const earliest = new Set(starts.filter(([, start]) => BigInt(start) === first).map(([traceId]) => traceId));
    const ring = page.getByTestId('scatter-highlight');
    await ring.waitFor();
    const chosen = await ring.getAttribute('data-trace-id');
    assert.ok(earliest.has(chosen), `${chosen} is not among the earliest traces ${[...earliest]}`);
    const tooltip = page.getByTestId('scatter-tooltip');
    await tooltip.waitFor();
    assert.match(await tooltip.textContent(), new RegExp(chosen));
    const highlighted = await page.locator('[data-testid="trace-row"].is-highlighted').evaluateAll((rows) => rows.map((row) => row.dataset.traceId));
    assert.deepEqual(highlighted, [chosen]);
    await plot.press('Enter');
    await page.waitForURL(`**/trace/${chosen}`);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('hovering a table row rings its point, and only that row is highlighted', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const ids = await rowIds(page);
    assert.ok(ids.length >= 2);
    const ring = page.getByTestId('scatter-highlight');
    for (const traceId of [ids[1], ids[0]]) {
      await page.locator(`[data-testid="trace-row"][data-trace-id="${traceId}"] .col-duration`).hover();
      await waitFor('the ring to move', async () => (await ring.getAttribute('data-trace-id', { timeout: 1_000 })) === traceId);
      const highlighted = await page.locator('[data-testid="trace-row"].is-highlighted').evaluateAll((rows) => rows.map((row) => row.dataset.traceId));
      assert.deepEqual(highlighted, [traceId]);
      // The ring is drawn over the plot's points, not in their place.
      assert.equal(await page.getByTestId('scatter-point').count(), ids.length);
    }
    // Hovering a row explains nothing in the plot (the row says it all) and leaving clears the ring.
    assert.equal(await page.getByTestId('scatter-tooltip').count(), 0);
    await page.getByRole('heading', { name: 'Search traces' }).hover();
    await ring.waitFor({ state: 'detached' });
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('looks right in dark mode, with points in the theme colours', async () => {
    const page = await openPage(context.browser, context.weft, { colorScheme: 'dark' });
    await page.goto('/search?status=error&lookback=1h&limit=20');
    await waitForResults(page);
    const fill = await page.getByTestId('scatter-point').first().evaluate((point) => getComputedStyle(point).fill);
    // --error in the dark theme.
    assert.equal(fill, 'rgb(240, 108, 108)');
    await screenshot(page, 'search-dark');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('finds a known error trace by service and status, in a URL that can be shared', async () => {
    const known = await context.weft.getJson('/api/v1/search?status=error&service=payment-service&lookback=1h');
    assert.ok(known.traces.length > 0, 'weft gen made failing payments');
    const target = known.traces[0];
    assert.ok(target.errorCount > 0);

    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const form = page.getByTestId('search-form');
    await form.getByLabel('Service', { exact: true }).selectOption('payment-service');
    await form.getByLabel('Status', { exact: true }).selectOption('error');
    await form.getByRole('button', { name: 'Find traces' }).click();
    await page.waitForURL(/service=payment-service/);
    await waitForResults(page);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('service'), 'payment-service');
    assert.equal(url.searchParams.get('status'), 'error');

    const row = page.locator(`[data-testid="trace-row"][data-trace-id="${target.traceId}"]`);
    await row.waitFor();
    const errors = row.getByTestId('error-count');
    assert.equal((await errors.textContent()).trim(), String(target.errorCount));
    assert.match(await errors.getAttribute('class'), /error-text/);
    assert.match(await row.textContent(), /payment-service/);
    const ids = await rowIds(page);
    assert.deepEqual([...ids].sort(), known.traces.map((trace) => trace.traceId).sort());
    for (const count of await rowNumbers(page, 'data-error-count')) assert.ok(count > 0, 'every listed trace has errors');
    await screenshot(page, 'search-errors');

    // The URL alone reproduces the search, and the form shows it.
    await page.reload();
    await waitForResults(page);
    await row.waitFor();
    assert.deepEqual(await rowIds(page), ids);
    assert.equal(await form.getByLabel('Service', { exact: true }).inputValue(), 'payment-service');
    assert.equal(await form.getByLabel('Status', { exact: true }).inputValue(), 'error');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('a bad min duration is explained instead of searched, and a bad URL shows the server message', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const before = page.url();
    const input = page.getByTestId('search-form').getByLabel('Min duration');
    await input.fill('abc');
    await input.press('Enter');
    const message = page.getByTestId('minDuration-error');
    await message.waitFor();
    assert.match(await message.textContent(), /"abc" is not a duration/);
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(page.url(), before, 'nothing was searched');
    assert.equal(await page.getByTestId('trace-results').isVisible(), true, 'the previous results stay');
    await screenshot(page, 'search-bad-duration');

    // Fixing it clears the message and searches.
    await input.fill('1ms');
    await input.press('Enter');
    await page.waitForURL(/minDuration=1ms/);
    assert.equal(await message.count(), 0);
    await waitForResults(page);
    for (const nanos of await rowNumbers(page, 'data-duration-nanos')) assert.ok(nanos >= 1_000_000);
    assert.deepEqual(page.weftErrors, []);

    // A hand-edited URL reaches the server, whose 400 message is shown; the page keeps working.
    await page.goto('/search?minDuration=abc');
    const banner = page.getByTestId('error-banner');
    await banner.waitFor();
    assert.match(await banner.textContent(), /minDuration/);
    assert.match(await banner.textContent(), /HTTP 400/);
    await page.getByTestId('search-form').getByLabel('Min duration').waitFor();
    await screenshot(page, 'search-server-error');
    // The browser logs the 400 response itself; nothing else may fail.
    assert.deepEqual(page.weftErrors.filter((error) => !/status of 400/.test(error)), []);
    await page.context().close();
  });

  it('sorts rows by duration, descending then ascending', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search?lookback=1h&limit=50');
    await waitForResults(page);
    const answer = await context.weft.getJson('/api/v1/search?lookback=1h&limit=50');
    const durations = answer.traces.map((trace) => trace.durationNanos);
    const header = page.locator('th', { has: page.getByTestId('sort-duration') });
    assert.equal(await header.getAttribute('aria-sort'), 'none');

    await page.getByTestId('sort-duration').click();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    assert.deepEqual(await rowNumbers(page, 'data-duration-nanos'), [...durations].sort((a, b) => b - a));
    const startHeader = page.locator('th', { has: page.getByTestId('sort-start') });
    assert.equal(await startHeader.getAttribute('aria-sort'), 'none');
    await screenshot(page, 'search-sorted');

    await page.getByTestId('sort-duration').press('Enter');
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(await rowNumbers(page, 'data-duration-nanos'), [...durations].sort((a, b) => a - b));
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('compares two selected traces', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const ids = await rowIds(page);
    assert.ok(ids.length >= 3);
    const button = page.getByTestId('compare-button');
    const boxes = page.getByTestId('compare-checkbox');
    assert.equal(await button.isDisabled(), true);
    await boxes.nth(0).check();
    assert.equal(await button.isDisabled(), true, 'one trace is not a comparison');
    await boxes.nth(2).check();
    assert.equal(await button.isDisabled(), false);
    assert.equal(await boxes.nth(1).isDisabled(), true, 'a third trace cannot be added');
    await screenshot(page, 'search-compare-selection');
    assert.deepEqual(page.weftErrors, []);
    await button.click();
    await page.waitForURL(/\/compare\?/);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('a'), ids[0]);
    assert.equal(url.searchParams.get('b'), ids[2]);
    await page.context().close();
  });

  it('autocompletes attribute values and filters by them', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    await waitForResults(page);
    const form = page.getByTestId('search-form');
    await form.getByRole('button', { name: '+ Add attribute' }).click();
    const key = form.getByLabel('Attribute 1 key');
    assert.equal(await key.evaluate((input) => input === document.activeElement), true, 'the new row takes the focus');
    const keyOptions = page.locator('#weft-attribute-keys option');
    await page.waitForFunction(() => document.querySelectorAll('#weft-attribute-keys option').length > 0);
    assert.ok((await keyOptions.evaluateAll((options) => options.map((option) => option.value))).includes('payment.currency'));
    await key.fill('payment.currency');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#weft-attribute-values-0 option')].some((option) => option.value === 'EUR'),
    );
    await form.getByLabel('Attribute 1 value').fill('EUR');
    await form.getByLabel('Attribute 1 value').press('Enter');
    await page.waitForURL(/attribute=payment\.currency%3DEUR/);
    await waitForResults(page);
    const services = await page.getByTestId('trace-row').evaluateAll((rows) => rows.map((row) => row.querySelector('.col-services').textContent));
    assert.ok(services.length > 0);
    for (const text of services) assert.match(text, /payment-service/);
    await screenshot(page, 'search-attribute');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('opens a trace straight from its ID', async () => {
    const [trace] = (await context.weft.getJson('/api/v1/search?lookback=1h&limit=1')).traces;
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search');
    const box = page.getByTestId('trace-id-form').getByLabel('Trace ID');
    await box.fill('not-a-trace');
    assert.equal(await page.getByTestId('trace-id-form').getByRole('button').isDisabled(), true);
    assert.match(await page.getByTestId('trace-id-form').textContent(), /1 to 32 hex digits/);
    await box.fill(trace.traceId.toUpperCase());
    await box.press('Enter');
    await page.waitForURL(`**/trace/${trace.traceId}`);
    await page.context().close();
  });

  it('says so when nothing matches and offers a way out', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/search?service=payment-service&minDuration=10h&lookback=5m');
    const empty = page.getByTestId('no-results');
    await empty.waitFor();
    assert.match(await empty.textContent(), /No traces match/);
    await screenshot(page, 'search-no-results');
    await empty.getByRole('button', { name: 'Remove all conditions' }).click();
    await page.waitForURL((url) => !url.search.includes('service='));
    await waitForResults(page);
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('the time range inputs follow back and forward', async () => {
    const page = await openPage(context.browser, context.weft);
    await checkPickerFollowsHistory(page, '/search', {
      // The picker edits the form; the search runs when it is submitted.
      submit: () => page.getByTestId('search-form').getByRole('button', { name: 'Find traces' }).click(),
    });
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });
}
