import { describe, expect, it } from 'vitest';
import { testSpan } from './test-spans';
import {
  anyValueToText,
  barGeometry,
  clampWindow,
  collapsedAncestors,
  parentSpanIds,
  rulerTicks,
  searchSpans,
  segmentsBySpanId,
  traceStats,
  zoomWindow,
} from './trace-view';
import { buildSpanTree } from './tree';

describe('ruler ticks', () => {
  it('uses round 1-2-5 steps and stays within the window', () => {
    const ticks = rulerTicks({ startNanos: 0, endNanos: 10_000_000 }, 5);
    expect(ticks.map((tick) => tick.offsetNanos)).toEqual([0, 2_000_000, 4_000_000, 6_000_000, 8_000_000, 10_000_000]);
    expect(ticks[0]!.fraction).toBe(0);
    expect(ticks.at(-1)!.fraction).toBeCloseTo(1);
  });

  it('starts at the first round offset inside a zoomed window', () => {
    const ticks = rulerTicks({ startNanos: 1_234, endNanos: 1_734 }, 5);
    expect(ticks[0]!.offsetNanos).toBe(1_300);
    expect(ticks.every((tick) => tick.fraction >= 0 && tick.fraction <= 1 + 1e-9)).toBe(true);
  });

  it('answers nothing for an empty window rather than looping', () => {
    expect(rulerTicks({ startNanos: 5, endNanos: 5 }, 5)).toEqual([]);
  });
});

describe('zoom window', () => {
  it('clamps into the trace and keeps a minimum width', () => {
    expect(clampWindow({ startNanos: -50, endNanos: 50 }, 1_000_000)).toEqual({ startNanos: 0, endNanos: 1_000 });
    expect(clampWindow({ startNanos: 900_000, endNanos: 1_200_000 }, 1_000_000)).toEqual({ startNanos: 700_000, endNanos: 1_000_000 });
    expect(clampWindow({ startNanos: 5_000, endNanos: 3_000 }, 1_000_000)).toEqual({ startNanos: 3_000, endNanos: 5_000 });
  });

  it('a trace shorter than the minimum width is shown whole', () => {
    expect(clampWindow({ startNanos: 0, endNanos: 1 }, 400)).toEqual({ startNanos: 0, endNanos: 400 });
  });

  it('zooms around the anchor and back out to the whole trace', () => {
    const zoomed = zoomWindow({ startNanos: 0, endNanos: 1_000_000 }, 0.5, 0.5, 1_000_000);
    expect(zoomed).toEqual({ startNanos: 250_000, endNanos: 750_000 });
    expect(zoomWindow(zoomed, 4, 0.5, 1_000_000)).toEqual({ startNanos: 0, endNanos: 1_000_000 });
  });
});

describe('bar geometry', () => {
  it('places and clips bars in the window', () => {
    expect(barGeometry(25, 75, { startNanos: 0, endNanos: 100 })).toEqual({ left: 0.25, width: 0.5 });
    expect(barGeometry(50, 150, { startNanos: 100, endNanos: 200 })).toEqual({ left: 0, width: 0.5 });
    expect(barGeometry(0, 10, { startNanos: 20, endNanos: 30 })).toBeNull();
  });
});

describe('search within a trace', () => {
  const spans = [
    testSpan('a', null, { name: 'GET /checkout', serviceName: 'frontend', end: 100 }),
    testSpan('b', 'a', {
      name: 'charge',
      serviceName: 'payment-service',
      start: 10,
      end: 90,
      statusCode: 'error',
      statusMessage: 'card declined',
      attributes: [{ key: 'http.response.status_code', value: { intValue: '402' } }],
    }),
    testSpan('c', 'a', {
      name: 'SELECT shop.orders',
      serviceName: 'order-service',
      start: 20,
      end: 30,
      events: [{ name: 'exception', timeOffsetNanos: 25, attributes: [] }],
    }),
  ];
  const tree = buildSpanTree(spans);

  it('matches names, services, status messages, attribute values and event names, in waterfall order', () => {
    expect(searchSpans(tree, 'declined').map((node) => node.span.spanId)).toEqual(['b']);
    expect(searchSpans(tree, 'SERVICE').map((node) => node.span.spanId)).toEqual(['b', 'c']);
    expect(searchSpans(tree, '402').map((node) => node.span.spanId)).toEqual(['b']);
    expect(searchSpans(tree, 'exception').map((node) => node.span.spanId)).toEqual(['c']);
  });

  it('requires every word and matches key=value exactly', () => {
    expect(searchSpans(tree, 'payment charge').map((node) => node.span.spanId)).toEqual(['b']);
    expect(searchSpans(tree, 'payment select')).toEqual([]);
    expect(searchSpans(tree, 'http.response.status_code=402').map((node) => node.span.spanId)).toEqual(['b']);
    expect(searchSpans(tree, 'http.response.status_code=40')).toEqual([]);
  });

  it('matches resource attributes, shared by many spans, by value and as key=value', () => {
    const resource = [{ key: 'k8s.pod.name', value: { stringValue: 'payment-7f9c' } }];
    const shared = buildSpanTree([
      testSpan('r', null, { end: 10, resourceAttributes: resource }),
      testSpan('s', 'r', { end: 5, resourceAttributes: resource }),
      testSpan('t', 'r', { end: 5 }),
    ]);
    expect(searchSpans(shared, '7F9C').map((node) => node.span.spanId)).toEqual(['r', 's']);
    expect(searchSpans(shared, 'k8s.pod.name=payment-7f9c').map((node) => node.span.spanId)).toEqual(['r', 's']);
    expect(searchSpans(shared, 'k8s.pod.name=payment')).toEqual([]);
  });

  it('finds nothing for an empty query', () => {
    expect(searchSpans(tree, '   ')).toEqual([]);
  });

  it('names the collapsed ancestors to open so a match is visible', () => {
    const deep = buildSpanTree([testSpan('r', null, { end: 10 }), testSpan('m', 'r', { end: 10 }), testSpan('leaf', 'm', { end: 10 })]);
    const leaf = deep.nodeBySpanId.get('leaf')!;
    expect(collapsedAncestors(leaf, new Set(['r', 'm', 'unrelated'])).sort()).toEqual(['m', 'r']);
    expect(collapsedAncestors(leaf, new Set())).toEqual([]);
  });
});

describe('trace statistics', () => {
  it('counts spans, errors, depth and spans per service', () => {
    const tree = buildSpanTree([
      testSpan('a', null, { serviceName: 'frontend', end: 10 }),
      testSpan('b', 'a', { serviceName: 'payment', end: 10, statusCode: 'error' }),
      testSpan('c', 'b', { serviceName: 'payment', end: 10 }),
    ]);
    expect(traceStats(tree)).toEqual({
      spanCount: 3,
      errorCount: 1,
      maxDepth: 3,
      services: [
        { serviceName: 'payment', spanCount: 2, errorCount: 1 },
        { serviceName: 'frontend', spanCount: 1, errorCount: 0 },
      ],
    });
    expect(traceStats(buildSpanTree([])).maxDepth).toBe(0);
  });

  it('lists parents below the roots for collapse-all', () => {
    const tree = buildSpanTree([testSpan('a', null), testSpan('b', 'a'), testSpan('c', 'b')]);
    expect([...parentSpanIds(tree)]).toEqual(['b']);
    expect([...parentSpanIds(tree, 0)].sort()).toEqual(['a', 'b']);
  });
});

describe('display helpers', () => {
  it('renders every OTLP value kind as text', () => {
    expect(anyValueToText({ stringValue: 'x' })).toBe('x');
    expect(anyValueToText({ boolValue: false })).toBe('false');
    expect(anyValueToText({ intValue: '9007199254740993' })).toBe('9007199254740993');
    expect(anyValueToText({ doubleValue: 1.5 })).toBe('1.5');
    expect(anyValueToText({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } })).toBe('["a", "2"]');
    expect(anyValueToText({ kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } })).toBe('{"k": "v"}');
    expect(anyValueToText(undefined)).toBe('');
  });

  it('groups critical path segments by span', () => {
    const grouped = segmentsBySpanId([
      { spanId: 'a', startOffsetNanos: 0, endOffsetNanos: 1 },
      { spanId: 'b', startOffsetNanos: 1, endOffsetNanos: 2 },
      { spanId: 'a', startOffsetNanos: 2, endOffsetNanos: 3 },
    ]);
    expect(grouped.get('a')).toHaveLength(2);
    expect(grouped.get('b')).toHaveLength(1);
  });
});
