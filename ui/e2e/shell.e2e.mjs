import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPage, screenshot } from './harness.mjs';

export function register(context) {
  it('the root page goes to search and the header links every view', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/');
    await page.waitForURL('**/search');
    const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    assert.deepEqual(links, ['Search', 'Logs', 'Compare', 'Service map', 'Services', 'Diagnostics', 'Database', 'Redis']);
    await screenshot(page, 'shell-search');
    assert.deepEqual(page.weftErrors, []);
    await page.context().close();
  });

  it('an unknown page says so and links back', async () => {
    const page = await openPage(context.browser, context.weft);
    await page.goto('/no/such/page');
    await page.getByTestId('not-found').waitFor();
    assert.match(await page.getByTestId('not-found').textContent(), /There is nothing at \/no\/such\/page/);
    await page.context().close();
  });

  it('follows the dark OS setting', async () => {
    const page = await openPage(context.browser, context.weft, { colorScheme: 'dark' });
    await page.goto('/search');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(21, 22, 26)');
    await screenshot(page, 'shell-dark');
    await page.context().close();
  });
}
