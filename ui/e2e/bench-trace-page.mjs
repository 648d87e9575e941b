// The trace page with a large trace: time to first render and scroll frame times.
//   WEFT_BIN=target/release/weft node e2e/bench-trace-page.mjs [spans] [runs]
// Prints one line per run and the medians; BENCHMARKS.md records them with the machine.
import { buildBigTrace, sendTrace } from './big-trace.mjs';
import { launchBrowser, openPage, startWeft, waitFor, waitForIdle } from './harness.mjs';

const spanCount = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 3);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, share) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))];
};

const weft = await startWeft();
const browser = await launchBrowser();
try {
  const trace = buildBigTrace({ spanCount });
  await sendTrace(weft, trace);
  await waitFor(
    'the trace to be stored',
    async () => (await weft.getJson(`/api/v1/search?traceIdPrefix=${trace.traceId}&lookback=1h`)).traces?.[0]?.spanCount === spanCount,
    120_000,
  );
  const results = [];
  for (let run = 0; run < runs; run += 1) {
    await waitForIdle(weft);
    const page = await openPage(browser, weft);
    await page.goto(`/trace/${trace.traceId}`);
    await page.getByTestId('span-row').first().waitFor({ timeout: 120_000 });
    // Marks set by the page: request sent, answer received, model built, first frame after render.
    const marks = await page.evaluate(async () => {
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
      return {
        requested: at('weft:trace-requested'),
        fetched: at('weft:trace-fetched'),
        parsed: at('weft:trace-parsed'),
        rendered: at('weft:trace-rendered'),
      };
    });
    // Scroll the waterfall continuously (600 px a frame ≈ 23 rows) and time every frame. Chrome's
    // own counters give the main thread's work apart from waiting (this VM's CPU steal makes
    // frame intervals noisy; the work per frame is the steadier figure).
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Performance.enable');
    const counters = async () => Object.fromEntries((await devtools.send('Performance.getMetrics')).metrics.map((metric) => [metric.name, metric.value]));
    const before = await counters();
    const frames = await page.evaluate(async () => {
      const body = document.querySelector('[data-testid="waterfall-body"]');
      const deltas = [];
      let last = performance.now();
      for (let frame = 0; frame < 300; frame += 1) {
        body.scrollTop += 600;
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const now = performance.now();
        deltas.push(now - last);
        last = now;
      }
      return deltas;
    });
    const after = await counters();
    const perFrame = (name) => ((after[name] - before[name]) * 1000) / frames.length;
    // Collapse all and expand all: click to the next painted frame.
    const foldMillis = async (name) =>
      page.evaluate(async (buttonName) => {
        const button = [...document.querySelectorAll('button')].find((element) => element.textContent === buttonName);
        const start = performance.now();
        button.click();
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        return performance.now() - start;
      }, name);
    // Find in trace: the first search builds the index; the second reuses it. The page waits
    // 150 ms after the last keystroke before searching; that pause is subtracted.
    const findMillis = async (query) => {
      const input = page.getByTestId('trace-search');
      await input.fill('');
      const start = Date.now();
      await input.fill(query);
      await page.getByTestId('trace-search-count').waitFor();
      return Date.now() - start - 150;
    };
    const findFirst = await findMillis('item-99999');
    const findAgain = await findMillis('failed');
    const collapse = await foldMillis('Collapse all');
    const expand = await foldMillis('Expand all');
    const result = {
      firstRenderMillis: marks.rendered,
      fetchMillis: marks.fetched - marks.requested,
      buildMillis: marks.parsed - marks.fetched,
      framesP50: percentile(frames, 0.5),
      framesP95: percentile(frames, 0.95),
      framesMax: Math.max(...frames),
      framesOver50: frames.filter((delta) => delta > 50).length,
      scriptPerFrame: perFrame('ScriptDuration'),
      layoutAndStylePerFrame: perFrame('LayoutDuration') + perFrame('RecalcStyleDuration'),
      taskPerFrame: perFrame('TaskDuration'),
      findFirst,
      findAgain,
      collapse,
      expand,
    };
    results.push(result);
    console.log(
      `run ${run + 1}: first render ${result.firstRenderMillis.toFixed(0)} ms after navigation ` +
        `(API answer ${result.fetchMillis.toFixed(0)} ms, parse+tree+critical path ${result.buildMillis.toFixed(0)} ms); ` +
        `scroll frames p50 ${result.framesP50.toFixed(1)} ms, p95 ${result.framesP95.toFixed(1)} ms, max ${result.framesMax.toFixed(1)} ms, ` +
        `${result.framesOver50}/300 over 50 ms; main thread per frame ${result.taskPerFrame.toFixed(1)} ms ` +
        `(script ${result.scriptPerFrame.toFixed(1)}, layout+style ${result.layoutAndStylePerFrame.toFixed(1)}); find ${findFirst} ms (first, builds the index), ${findAgain} ms (next); collapse all ${collapse.toFixed(0)} ms, expand all ${expand.toFixed(0)} ms`,
    );
    await page.context().close();
  }
  const keys = Object.keys(results[0]);
  console.log(`median of ${runs} runs, ${spanCount} spans:`);
  for (const key of keys) console.log(`  ${key}: ${median(results.map((result) => result[key])).toFixed(1)}`);
} finally {
  await browser.close();
  await weft.stop();
}
