// The browser tests' sandbox: a real `weft serve` on loopback ports in a temporary data
// directory, fed by the real `weft gen`, and Debian's Chromium driven by playwright-core.
// Nothing here talks to any address but 127.0.0.1.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The weft binary under test: `WEFT_BIN`, or the debug build in the default target dir. */
export function weftBinary() {
  return process.env.WEFT_BIN ?? resolve(here, '../../target/debug/weft');
}

/** Where screenshots go: `WEFT_E2E_SCREENSHOTS`, or ui/e2e/screenshots. */
export const screenshotDir = process.env.WEFT_E2E_SCREENSHOTS ?? join(here, 'screenshots');

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitFor(what, check, timeoutMillis = 30_000) {
  const deadline = Date.now() + timeoutMillis;
  let lastError = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((wake) => setTimeout(wake, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

/**
 * Starts `weft serve` with `flags` on free loopback ports. The answer has the base URL of the
 * HTTP API and UI, the OTLP endpoints, `getJson(path)` and `stop()`.
 */
export async function startWeft({ flags = [] } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-ui-e2e-'));
  const [http, grpc, otlpHttp, zipkin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const log = [];
  const child = spawn(
    weftBinary(),
    [
      'serve',
      '--data-dir', dataDir,
      '--http-listen', `127.0.0.1:${http}`,
      '--otlp-grpc-listen', `127.0.0.1:${grpc}`,
      '--otlp-http-listen', `127.0.0.1:${otlpHttp}`,
      '--zipkin-listen', `127.0.0.1:${zipkin}`,
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const baseUrl = `http://127.0.0.1:${http}`;
  const weft = {
    baseUrl,
    grpcEndpoint: `http://127.0.0.1:${grpc}`,
    otlpHttpEndpoint: `http://127.0.0.1:${otlpHttp}`,
    dataDir,
    pid: child.pid,
    log: () => log.join(''),
    async getJson(path) {
      const response = await fetch(`${baseUrl}${path}`);
      const body = await response.json();
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor('weft to stop', () => exited, 15_000).catch(() => child.kill('SIGKILL'));
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('weft serve /health', async () => {
      if (exited) throw new Error(`weft serve exited early (${JSON.stringify(exited)}):\n${weft.log()}`);
      const response = await fetch(`${baseUrl}/health`);
      return response.ok;
    });
  } catch (error) {
    await weft.stop();
    throw error;
  }
  return weft;
}

/**
 * Runs `weft gen` against `weft` until it has sent `spans` spans (as fast as acknowledged),
 * then waits until they are all queryable. `flags` go to `weft gen` as they are.
 */
export async function generate(weft, { spans, seed = 7, flags = [] }) {
  await promisify(execFile)(
    weftBinary(),
    ['gen', '--endpoint', weft.grpcEndpoint, '--spans', String(spans), '--rate', '0', '--seed', String(seed), ...flags],
    { timeout: 120_000 },
  );
  await waitForPipeline(weft);
}

/**
 * Waits until the pipeline has processed everything the WAL acknowledged, so every span sent
 * so far is queryable (acknowledged spans reach the store a moment later, longer in a burst).
 */
export async function waitForPipeline(weft, timeoutMillis = 120_000) {
  const { wal } = await weft.getJson('/health');
  await waitFor(
    'the pipeline to process every acknowledged span',
    async () => (await weft.getJson('/health')).pipeline.position >= wal.writtenLsn,
    timeoutMillis,
  );
}

/**
 * Waits until the server process uses under 5 % of a CPU for two seconds (flushes and
 * compactions done), so a benchmark measures the page rather than the server's background
 * work. Linux only (reads /proc).
 */
export async function waitForIdle(weft, timeoutMillis = 120_000) {
  const { readFile } = await import('node:fs/promises');
  const cpuTicks = async () => {
    const fields = (await readFile(`/proc/${weft.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const deadline = Date.now() + timeoutMillis;
  let quietSamples = 0;
  let last = await cpuTicks();
  while (quietSamples < 4 && Date.now() < deadline) {
    await new Promise((wake) => setTimeout(wake, 500));
    const now = await cpuTicks();
    // Ticks are 1/100 s: under 2.5 ticks per 500 ms is under 5 % of a CPU.
    quietSamples = now - last < 2.5 ? quietSamples + 1 : 0;
    last = now;
  }
}

/** Chromium as the issue prescribes: Debian's build, headless, no sandbox, no background traffic. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh page at `weft.baseUrl`. Uncaught page errors are collected in `page.weftErrors` so a
 * test can assert there were none.
 */
export async function openPage(browser, weft, { colorScheme = 'light', width = 1440, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, baseURL: weft.baseUrl });
  const page = await context.newPage();
  page.weftErrors = [];
  page.on('pageerror', (error) => page.weftErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') page.weftErrors.push(message.text());
  });
  return page;
}

/** Saves a full-window screenshot as `<name>.png` in the screenshot directory. */
export async function screenshot(page, name) {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export { waitFor };
