// Test support only (not imported by the app): terse construction of normalised spans.
import type { TraceSpan } from './trace-model';

export interface TestSpanFields extends Partial<Omit<TraceSpan, 'spanId' | 'parentSpanId'>> {
  readonly start?: number;
  readonly end?: number;
}

export function testSpan(spanId: string, parentSpanId: string | null, fields: TestSpanFields = {}): TraceSpan {
  const { start = 0, end = start, ...rest } = fields;
  return {
    traceId: '00000000000000000000000000000001',
    spanId,
    parentSpanId,
    name: spanId,
    kind: 'internal',
    serviceName: 'svc',
    startOffsetNanos: start,
    endOffsetNanos: end,
    durationNanos: end - start,
    statusCode: 'unset',
    statusMessage: '',
    attributes: [],
    resourceAttributes: [],
    scopeName: '',
    events: [],
    links: [],
    ...rest,
  };
}

/** Deterministic PRNG (mulberry32) so randomised tests reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
