// The service map: the generator's call graph as nodes and edges, the same as the topology API
// says, drawn differently for uninstrumented peers, and a click through to a dashboard.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot, startWeft, waitFor } from './harness.mjs';

/** The call graph `weft gen` is designed to produce (caller → callee). */
export const DESIGNED_EDGES = [
  ['frontend', 'api-gateway'],
  ['api-gateway', 'order-service'],
  ['api-gateway', 'user-service'],
  ['order-service', 'redis/0'],
  ['order-service', 'mysql/shop'],
  ['order-service', 'inventory-service'],
  ['order-service', 'payment-service'],
  ['order-service', 'notification-service'],
  ['inventory-service', 'mysql/inventory'],
  ['payment-service', 'postgresql/payments'],
  ['payment-service', 'card-network'],
  ['notification-service', 'email-provider'],
  ['user-service', 'redis/0'],
  ['user-service', 'postgresql/users'],
];

export const INSTRUMENTED = [
  'frontend',
  'api-gateway',
  'order-service',
  'payment-service',
  'inventory-service',
  'user-service',
  'notification-service',
];

const PEERS = ['redis/0', 'mysql/shop', 'mysql/inventory', 'postgresql/payments', 'postgresql/users', 'card-network', 'email-provider'];

const key = ([caller, callee]) => `${caller} -> ${callee}`;

/**
 * The topology once it has settled: a client span whose server span never comes counts as a call
 * to an uninstrumented peer only after the pairing timeout (10 s), so wait for every designed edge.
 */
export async function settledTopology(weft) {
  return waitFor(
    'every designed edge in /api/v1/topology',
    async () => {
      const topology = await weft.getJson('/api/v1/topology?lookback=1h');
      const edges = new Set(topology.edges.map((edge) => key([edge.caller, edge.callee])));
      return DESIGNED_EDGES.every((edge) => edges.has(key(edge))) ? topology : null;
    },
    60_000,
  );
}

/**
 * The time range picker's From/To inputs show the range of the URL, also after back and
 * forward: opens `path` at an absolute range, applies another one in the picker, goes back and
 * forward, and checks the inputs each time. `submit` runs after Apply, for a page where the
 * picker edits a form that still has to be submitted.
 */
export async function checkPickerFollowsHistory(page, path, { submit = async () => {} } = {}) {
  const url = (start, end) => `${path}${path.includes('?') ? '&' : '?'}start=${start}&end=${end}`;
  await page.goto(url('2020-01-01T00:00:00Z', '2020-01-01T01:00:00Z'));
  const picker = page.getByTestId('time-range');
  const from = picker.getByLabel('From');
  const to = picker.getByLabel('To');
  await from.waitFor();
  const original = [await from.inputValue(), await to.inputValue()];
  // The browser leaves out zero seconds.
  assert.match(original[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/);

  const chosen = ['2020-01-03T10:00:05', '2020-01-03T11:30:15'];
  await from.fill(chosen[0]);
  await to.fill(chosen[1]);
  await picker.getByRole('button', { name: 'Apply' }).click();
  await submit();
  // Local time is the browser's, so the browser says which instant that is.
  const chosenStart = await page.evaluate((text) => new Date(text).toISOString(), chosen[0]);
  await page.waitForURL((next) => next.searchParams.get('start') === chosenStart);
  assert.deepEqual([await from.inputValue(), await to.inputValue()], chosen);

  await page.goBack();
  await page.waitForURL((next) => next.searchParams.get('start') === '2020-01-01T00:00:00Z');
  await waitFor('the inputs to show the earlier range', async () => (await from.inputValue()) === original[0]);
  assert.equal(await to.inputValue(), original[1]);

  await page.goForward();
  await page.waitForURL((next) => next.searchParams.get('start') === chosenStart);
  await waitFor('the inputs to show the later range', async () => (await from.inputValue()) === chosen[0]);
  assert.equal(await to.inputValue(), chosen[1]);
}

async function openMap(context, options = {}, path = '/map') {
  const page = await openPage(context.browser, context.weft, options);
  await page.goto(path);
  await page.locator('[data-testid="service-map"][data-node-count]').waitFor();
  return page;
}

export function register(context) {
  it('service map: shows the services and the calls the topology API reports', async () => {
    const topology = await settledTopology(context.weft);
    const page = await openMap(context);

    const graph = page.getByTestId('service-map');
    const names = new Set([...topology.nodes.map((node) => node.service), ...topology.edges.flatMap((edge) => [edge.caller, edge.callee])]);
    assert.equal(Number(await graph.getAttribute('data-node-count')), names.size);
    assert.equal(Number(await graph.getAttribute('data-edge-count')), topology.edges.length);

    // The edge table lists exactly the API's edges…
    const rows = page.getByTestId('map-edge-row');
    const shown = await rows.evaluateAll((elements) => elements.map((row) => `${row.dataset.caller} -> ${row.dataset.callee}`));
    assert.deepEqual([...shown].sort(), topology.edges.map((edge) => key([edge.caller, edge.callee])).sort());
    // …which hold the generator's design, e.g. the checkout path and its calls to peers.
    for (const edge of DESIGNED_EDGES) assert.ok(shown.includes(key(edge)), `missing edge ${key(edge)}`);

    // Every service is a node, instrumented or not, and peers are marked as such.
    const nodeRows = page.getByTestId('map-node-row');
    const nodeNames = await nodeRows.evaluateAll((elements) => elements.map((row) => row.dataset.service));
    for (const name of [...INSTRUMENTED, ...PEERS]) assert.ok(nodeNames.includes(name), `missing node ${name}`);
    for (const peer of PEERS) {
      assert.equal(await page.locator(`[data-testid="map-node-row"][data-service="${peer}"]`).getAttribute('data-uninstrumented'), 'true', peer);
      assert.equal(await page.locator(`[data-testid="map-node"][data-service="${peer}"]`).getAttribute('data-uninstrumented'), 'true', peer);
    }
    for (const service of INSTRUMENTED) {
      assert.equal(await page.locator(`[data-testid="map-node"][data-service="${service}"]`).getAttribute('data-uninstrumented'), 'false', service);
    }

    // The payment edge carries the generator's failures (~3 % of checkouts) and its p99.
    const payment = page.locator('[data-testid="map-edge-row"][data-caller="order-service"][data-callee="payment-service"]');
    assert.match(await payment.textContent(), /\/s.*%.*(ms|s)/);

    await screenshot(page, 'service-map');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: hovering a node shows its numbers and clicking it opens its dashboard', async () => {
    await settledTopology(context.weft);
    const page = await openMap(context);
    const node = page.locator('[data-testid="map-node"][data-service="order-service"]');
    const box = await node.boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, 'the node has a place on the canvas');
    const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };

    await page.mouse.move(centre.x, centre.y);
    const tooltip = page.getByTestId('map-tooltip');
    await tooltip.waitFor();
    assert.match(await tooltip.textContent(), /order-service/);
    assert.match(await tooltip.textContent(), /p50 \/ p90 \/ p99/);
    await screenshot(page, 'service-map-hover');

    await page.mouse.click(centre.x, centre.y);
    await page.waitForURL((url) => url.pathname === '/services/order-service');
    assert.equal(new URL(page.url()).searchParams.get('lookback'), '1h', 'the dashboard keeps the time range');
    await page.locator('[data-testid="metric-chart"]').first().waitFor();
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: the node list and the keyboard open dashboards too', async () => {
    await settledTopology(context.weft);
    const page = await openMap(context, {}, '/map?lookback=6h');
    await page.locator('[data-testid="map-node-row"][data-service="payment-service"] a').click();
    await page.waitForURL((url) => url.pathname === '/services/payment-service');
    assert.equal(new URL(page.url()).searchParams.get('lookback'), '6h');

    await page.goBack();
    await page.locator('[data-testid="service-map"][data-node-count]').waitFor();
    await page.locator('[data-testid="map-node"][data-service="inventory-service"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/services/inventory-service');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: focusing on a service keeps its neighbours only', async () => {
    await settledTopology(context.weft);
    const page = await openMap(context, {}, '/map?service=payment-service');
    const shown = await page.getByTestId('map-edge-row').evaluateAll((elements) => elements.map((row) => `${row.dataset.caller} -> ${row.dataset.callee}`));
    assert.deepEqual(shown.sort(), ['order-service -> payment-service', 'payment-service -> card-network', 'payment-service -> postgresql/payments']);
    assert.equal(await page.getByLabel('Focus on service').inputValue(), 'payment-service');
    await page.getByLabel('Hops').selectOption('2');
    await page.waitForURL((url) => url.searchParams.get('hops') === '2');
    await page.locator('[data-testid="map-edge-row"][data-caller="api-gateway"][data-callee="order-service"]').waitFor();
    await screenshot(page, 'service-map-focus');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: follows the dark theme', async () => {
    await settledTopology(context.weft);
    const page = await openMap(context, { colorScheme: 'dark' });
    const background = await page.getByTestId('service-map').evaluate((element) => getComputedStyle(element).backgroundColor);
    assert.equal(background, 'rgb(21, 22, 26)');
    await screenshot(page, 'service-map-dark');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: a range without spans shows how to send some', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/map?start=2020-01-01T00:00:00Z&end=2020-01-01T01:00:00Z');
    await page.getByTestId('no-data').waitFor();
    assert.equal(await page.getByTestId('service-map').count(), 0);
    await screenshot(page, 'service-map-empty');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('service map: without stream metrics it says why (501) and what to do', async () => {
    const weft = await startWeft({ flags: ['--no-stream-metrics'] });
    try {
      const page = await openPage(context.browser, weft);
      // The failed request is expected; the page must explain it rather than break.
      await page.goto('/map');
      const banner = page.getByTestId('error-banner');
      await banner.waitFor();
      assert.match(await banner.textContent(), /HTTP 501/);
      assert.match(await banner.textContent(), /--no-stream-metrics/);
      await screenshot(page, 'service-map-501');
      assert.deepEqual(
        page.weftErrors.filter((message) => !/501/.test(message)),
        [],
      );
      await page.context().close();
    } finally {
      await weft.stop();
    }
  });

  it('service map: the time range inputs follow back and forward', async () => {
    const page = await openPage(context.browser, context.weft);
    await checkPickerFollowsHistory(page, '/map');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });
}
