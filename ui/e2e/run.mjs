// Runs every browser test against one weft server fed once by `weft gen`:
//   WEFT_BIN=target/debug/weft node e2e/run.mjs
// Each *.e2e.mjs module exports `register(context)` and declares node:test tests that read
// `context.weft`, `context.browser` (set up here before any test runs). `WEFT_E2E_ONLY=search,trace`
// runs only those modules.
import { after, before, describe } from 'node:test';
import { generate, launchBrowser, startWeft } from './harness.mjs';
import * as compare from './compare.e2e.mjs';
import * as diagnostics from './diagnostics.e2e.mjs';
import * as logs from './logs.e2e.mjs';
import * as sampling from './sampling.e2e.mjs';
import * as search from './search.e2e.mjs';
import * as serviceMap from './service-map.e2e.mjs';
import * as service from './service.e2e.mjs';
import * as shell from './shell.e2e.mjs';
import * as trace from './trace.e2e.mjs';
import * as traceScale from './trace-scale.e2e.mjs';

/** Filled in by `before`; the test modules read it lazily. */
const context = { weft: null, browser: null };

describe('weft web ui', { concurrency: 1 }, () => {
  before(async () => {
    // A trace is analyzed once it has been quiet for a second, so the diagnostics catch up
    // with `weft gen` quickly.
    context.weft = await startWeft({ flags: ['--trace-inactivity-timeout', '1s'] });
    // Enough traffic for errors (3 % of checkouts fail), cache misses and every edge, and for
    // every kind of finding the diagnostics look for.
    await generate(context.weft, {
      spans: 30_000,
      flags: [
        '--repeated-calls-rate', '0.2',
        '--bottleneck-rate', '0.05',
        '--broken-trace-rate', '0.05',
        '--timeout-misconfiguration-rate', '0.05',
        '--cycle-rate', '0.05',
      ],
    });
    context.browser = await launchBrowser();
  });
  after(async () => {
    await context.browser?.close();
    await context.weft?.stop();
  });
  const modules = { shell, search, trace, sampling, compare, 'service-map': serviceMap, service, diagnostics, logs, 'trace-scale': traceScale };
  const only = process.env.WEFT_E2E_ONLY?.split(',').filter(Boolean);
  for (const [name, module] of Object.entries(modules)) {
    if (!only || only.includes(name)) module.register(context);
  }
});
