import { describe, expect, it } from 'vitest';
import ordersTraceJson from './fixtures/orders-trace.otlp.json';
import {
  normaliseParentSpanId,
  parseOtlpTrace,
  parseUnixNanos,
  spanKindFromOtlp,
  statusCodeFromOtlp,
  type OtlpSpan,
  type OtlpTracesData,
} from './trace-model';

const ordersTrace = ordersTraceJson as OtlpTracesData;

function oneSpanTrace(span: Partial<OtlpSpan>, serviceName: string | null = 'svc'): OtlpTracesData {
  return {
    resourceSpans: [
      {
        resource:
          serviceName === null ? null : { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: 'ab',
                spanId: '00000000000000aa',
                name: 'op',
                startTimeUnixNano: '1795255200000000000',
                endTimeUnixNano: '1795255200000001000',
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('parseOtlpTrace on the backend fixture (OTLP/JSON as the server writes it)', () => {
  const parsed = parseOtlpTrace(ordersTrace);
  const [root, client, database] = parsed.spans;

  it('finds every span across resources and scopes, with the trace origin and duration', () => {
    expect(parsed.spans).toHaveLength(3);
    expect(parsed.traceId).toBe('692037a00102030405060708090a0b0c');
    expect(parsed.traceStartUnixNano).toBe(1795255200000000000n);
    expect(parsed.durationNanos).toBe(250_000_000);
    expect(parsed.droppedSpanCount).toBe(0);
  });

  it('takes the service name from the resource', () => {
    expect(parsed.spans.map((span) => span.serviceName)).toEqual(['orders', 'orders', 'orders-db']);
  });

  it('turns the empty root parent into null and keeps real parents', () => {
    expect(parsed.spans.map((span) => span.parentSpanId)).toEqual([null, '0000000000000001', '0000000000000002']);
  });

  it('names the integer kinds and status codes, with a null status as unset', () => {
    expect(parsed.spans.map((span) => span.kind)).toEqual(['server', 'client', 'server']);
    expect(parsed.spans.map((span) => span.statusCode)).toEqual(['error', 'unset', 'ok']);
    expect(root?.statusMessage).toBe('order lookup failed');
  });

  it('expresses times as offsets from the earliest start', () => {
    expect([root, client, database].map((span) => [span?.startOffsetNanos, span?.endOffsetNanos])).toEqual([
      [0, 250_000_000],
      [10_000_000, 60_000_000],
      [12_000_000, 58_000_000],
    ]);
    expect(database?.durationNanos).toBe(46_000_000);
    expect(root?.events).toEqual([
      {
        name: 'exception',
        timeOffsetNanos: 200_000_000,
        attributes: [
          { key: 'exception.type', value: { stringValue: 'ValueError' } },
          { key: 'exception.message', value: { stringValue: 'order 1 not found' } },
        ],
      },
    ]);
  });

  it('keeps attributes, resource attributes, scope and links as sent', () => {
    expect(root?.attributes).toHaveLength(8);
    expect(root?.attributes[1]).toEqual({ key: 'http.response.status_code', value: { intValue: '500' } });
    expect(database?.resourceAttributes[0]).toEqual({ key: 'service.name', value: { stringValue: 'orders-db' } });
    expect(client?.scopeName).toBe('weft.test');
    expect(client?.links[0]?.spanId).toBe('0000000000000001');
  });
});

describe('parseOtlpTrace on imperfect input', () => {
  it('keeps nanosecond precision beyond 2^53', () => {
    // As floats both are the same number; as BigInt offsets they are 1 ns apart.
    expect(Number('1795255200000000001')).toBe(Number('1795255200000000000'));
    const parsed = parseOtlpTrace(
      oneSpanTrace({ startTimeUnixNano: '1795255200000000001', endTimeUnixNano: '1795255200000000004' }),
    );
    expect(parsed.traceStartUnixNano).toBe(1795255200000000001n);
    expect(parsed.spans[0]?.durationNanos).toBe(3);
  });

  it('falls back to unknown_service without a service.name or a resource', () => {
    expect(parseOtlpTrace(oneSpanTrace({}, null)).spans[0]?.serviceName).toBe('unknown_service');
    const withoutServiceName: OtlpTracesData = {
      resourceSpans: [{ resource: { attributes: [] }, scopeSpans: oneSpanTrace({}).resourceSpans![0]!.scopeSpans! }],
    };
    expect(parseOtlpTrace(withoutServiceName).spans[0]?.serviceName).toBe('unknown_service');
  });

  it('drops and counts spans without a readable start, and flattens inverted ends', () => {
    const parsed = parseOtlpTrace({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: 'ab', spanId: '01', name: 'bad', startTimeUnixNano: 'soon', endTimeUnixNano: '5' },
                { traceId: 'ab', spanId: '02', name: 'inverted', startTimeUnixNano: '100', endTimeUnixNano: '40' },
                { traceId: 'ab', spanId: '03', name: 'numeric', startTimeUnixNano: 90, endTimeUnixNano: 'x' },
              ],
            },
          ],
        },
      ],
    });
    expect(parsed.droppedSpanCount).toBe(1);
    expect(parsed.spans.map((span) => [span.spanId, span.startOffsetNanos, span.endOffsetNanos])).toEqual([
      ['02', 10, 10],
      ['03', 0, 0],
    ]);
  });

  it('drops events without a readable time and allows events before the trace start', () => {
    const parsed = parseOtlpTrace(
      oneSpanTrace({
        startTimeUnixNano: '1000',
        endTimeUnixNano: '2000',
        events: [
          { name: 'early', timeUnixNano: '900' },
          { name: 'unreadable', timeUnixNano: '-3' },
        ],
      }),
    );
    expect(parsed.spans[0]?.events.map((event) => [event.name, event.timeOffsetNanos])).toEqual([['early', -100]]);
  });

  it('returns an empty trace for empty or missing resourceSpans', () => {
    for (const empty of [{}, { resourceSpans: null }, { resourceSpans: [{ scopeSpans: [{ spans: [] }] }] }]) {
      expect(parseOtlpTrace(empty)).toEqual({
        traceId: '',
        traceStartUnixNano: 0n,
        durationNanos: 0,
        spans: [],
        droppedSpanCount: 0,
      });
    }
  });

  it('lower-cases IDs so parents match children whatever case the client used', () => {
    const span = parseOtlpTrace(oneSpanTrace({ spanId: '00000000000000AB', parentSpanId: '00000000000000CD' }))
      .spans[0];
    expect([span?.spanId, span?.parentSpanId]).toEqual(['00000000000000ab', '00000000000000cd']);
  });
});

describe('field decoders', () => {
  it('reads OTLP enum numbers and names, defaulting to unspecified/unset', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((kind) => spanKindFromOtlp(kind))).toEqual([
      'unspecified',
      'internal',
      'server',
      'client',
      'producer',
      'consumer',
      'unspecified',
    ]);
    expect(spanKindFromOtlp('SPAN_KIND_CONSUMER')).toBe('consumer');
    expect(spanKindFromOtlp('client')).toBe('client');
    expect(spanKindFromOtlp('SPAN_KIND_NONSENSE')).toBe('unspecified');
    expect(spanKindFromOtlp(undefined)).toBe('unspecified');
    expect([0, 1, 2, 7].map((code) => statusCodeFromOtlp(code))).toEqual(['unset', 'ok', 'error', 'unset']);
    expect(statusCodeFromOtlp('STATUS_CODE_ERROR')).toBe('error');
    expect(statusCodeFromOtlp(undefined)).toBe('unset');
  });

  it('treats empty, null, missing and all-zero parents as no parent, like the backend', () => {
    expect([undefined, null, '', '0000000000000000'].map((parent) => normaliseParentSpanId(parent))).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(normaliseParentSpanId('00000000000000F1')).toBe('00000000000000f1');
  });

  it('parses only unsigned integer nanoseconds', () => {
    expect(parseUnixNanos('18446744073709551615')).toBe(18446744073709551615n);
    expect(parseUnixNanos(42)).toBe(42n);
    expect([' 1', '1.5', '-1', '', '1e9', 1.5, -1, null, undefined].map((value) => parseUnixNanos(value))).toEqual(
      Array(9).fill(null),
    );
  });
});
