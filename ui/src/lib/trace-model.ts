/**
 * The trace-by-id answer (`GET /api/v1/traces/{traceId}`) is OTLP/JSON `TracesData`
 * (docs/openapi.yaml, `components.schemas.TracesData`), written by opentelemetry-proto's serde
 * support: lowerCamelCase names, hex IDs, enums as integers, 64-bit times as decimal strings, a
 * root's `parentSpanId` as "", and the service name on the resource rather than on the span.
 * Everything else in the UI works on the flat, offset-based `TraceSpan` built here, so the wire
 * format is confined to this file.
 */

export interface OtlpTracesData {
  readonly resourceSpans?: readonly OtlpResourceSpans[] | null;
}

export interface OtlpResourceSpans {
  readonly resource?: OtlpResource | null;
  readonly scopeSpans?: readonly OtlpScopeSpans[] | null;
  readonly schemaUrl?: string;
}

export interface OtlpResource {
  readonly attributes?: readonly OtlpKeyValue[] | null;
  readonly droppedAttributesCount?: number;
}

export interface OtlpScopeSpans {
  readonly scope?: OtlpInstrumentationScope | null;
  readonly spans?: readonly OtlpSpan[] | null;
  readonly schemaUrl?: string;
}

export interface OtlpInstrumentationScope {
  readonly name?: string;
  readonly version?: string;
  readonly attributes?: readonly OtlpKeyValue[] | null;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState?: string;
  /** "" for a root (the server never omits it, but other OTLP writers may). */
  readonly parentSpanId?: string | null;
  readonly flags?: number;
  readonly name: string;
  /** An integer on the wire; enum names are accepted too, as OTLP/JSON readers do. */
  readonly kind?: number | string;
  readonly startTimeUnixNano: string | number;
  readonly endTimeUnixNano: string | number;
  readonly attributes?: readonly OtlpKeyValue[] | null;
  readonly droppedAttributesCount?: number;
  readonly events?: readonly OtlpEvent[] | null;
  readonly droppedEventsCount?: number;
  readonly links?: readonly OtlpLink[] | null;
  readonly droppedLinksCount?: number;
  readonly status?: OtlpStatus | null;
}

export interface OtlpStatus {
  readonly code?: number | string;
  readonly message?: string;
}

export interface OtlpEvent {
  readonly timeUnixNano: string | number;
  readonly name: string;
  readonly attributes?: readonly OtlpKeyValue[] | null;
  readonly droppedAttributesCount?: number;
}

export interface OtlpLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState?: string;
  readonly attributes?: readonly OtlpKeyValue[] | null;
  readonly droppedAttributesCount?: number;
  readonly flags?: number;
}

export interface OtlpKeyValue {
  readonly key: string;
  readonly value?: OtlpAnyValue | null;
}

/** Exactly one field is set; `intValue` is a decimal string because int64 exceeds 2^53. */
export interface OtlpAnyValue {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: string | number;
  readonly doubleValue?: number;
  readonly arrayValue?: { readonly values?: readonly OtlpAnyValue[] | null };
  readonly kvlistValue?: { readonly values?: readonly OtlpKeyValue[] | null };
  /** Base64. */
  readonly bytesValue?: string;
}

export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatusCodeName = 'unset' | 'ok' | 'error';

export interface TraceSpanEvent {
  readonly name: string;
  readonly timeOffsetNanos: number;
  readonly attributes: readonly OtlpKeyValue[];
}

/**
 * One span with times as nanoseconds since the trace's earliest span start: plain numbers are
 * exact up to 2^53 ns (about 104 days), far beyond any trace, while absolute Unix nanoseconds
 * are not.
 */
export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: SpanKindName;
  /** The resource's `service.name`, or `unknown_service` as the backend (and OTel spec) says. */
  readonly serviceName: string;
  readonly startOffsetNanos: number;
  readonly endOffsetNanos: number;
  readonly durationNanos: number;
  readonly statusCode: SpanStatusCodeName;
  readonly statusMessage: string;
  readonly attributes: readonly OtlpKeyValue[];
  readonly resourceAttributes: readonly OtlpKeyValue[];
  readonly scopeName: string;
  readonly events: readonly TraceSpanEvent[];
  readonly links: readonly OtlpLink[];
}

export interface ParsedTrace {
  /** Taken from the first span; empty when there are none. */
  readonly traceId: string;
  /** The earliest span start: the origin of every offset. 0n when there are no spans. */
  readonly traceStartUnixNano: bigint;
  /** Earliest start to latest end, like `TraceSummary.durationNanos` in search results. */
  readonly durationNanos: number;
  readonly spans: readonly TraceSpan[];
  /** Spans dropped because their start time was not an unsigned integer. */
  readonly droppedSpanCount: number;
}

export const UNKNOWN_SERVICE_NAME = 'unknown_service';

const SPAN_KIND_BY_OTLP_NUMBER: readonly SpanKindName[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
const STATUS_CODE_BY_OTLP_NUMBER: readonly SpanStatusCodeName[] = ['unset', 'ok', 'error'];

function enumName<Name extends string>(
  value: number | string | undefined,
  namesByNumber: readonly Name[],
  protoPrefix: string,
): Name {
  const fallback = namesByNumber[0] as Name;
  if (typeof value === 'number') {
    return namesByNumber[value] ?? fallback;
  }
  if (typeof value === 'string') {
    const lowered = value.toLowerCase();
    const withoutPrefix = lowered.startsWith(protoPrefix) ? lowered.slice(protoPrefix.length) : lowered;
    return namesByNumber.find((name) => name === withoutPrefix) ?? fallback;
  }
  return fallback;
}

export function spanKindFromOtlp(kind: number | string | undefined): SpanKindName {
  return enumName(kind, SPAN_KIND_BY_OTLP_NUMBER, 'span_kind_');
}

export function statusCodeFromOtlp(code: number | string | undefined): SpanStatusCodeName {
  return enumName(code, STATUS_CODE_BY_OTLP_NUMBER, 'status_code_');
}

/** BigInt, because Unix nanoseconds (~1.8e18) lose precision as JSON numbers or floats. */
export function parseUnixNanos(value: string | number | undefined | null): bigint | null {
  if (typeof value === 'string' && /^\d+$/.test(value)) {
    return BigInt(value);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return BigInt(value);
  }
  return null;
}

const ALL_ZERO_HEX = /^0+$/;

/** Mirrors the backend (weft-codec `parent_from_otlp`): empty or all-zero means no parent. */
export function normaliseParentSpanId(parentSpanId: string | null | undefined): string | null {
  if (parentSpanId == null || parentSpanId === '' || ALL_ZERO_HEX.test(parentSpanId)) {
    return null;
  }
  return parentSpanId.toLowerCase();
}

export function findAttribute(
  attributes: readonly OtlpKeyValue[] | null | undefined,
  key: string,
): OtlpAnyValue | undefined {
  return attributes?.find((attribute) => attribute.key === key)?.value ?? undefined;
}

interface SpanWithContext {
  readonly otlpSpan: OtlpSpan;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
  readonly serviceName: string;
  readonly resourceAttributes: readonly OtlpKeyValue[];
  readonly scopeName: string;
}

export function parseOtlpTrace(tracesData: OtlpTracesData): ParsedTrace {
  const readable: SpanWithContext[] = [];
  let droppedSpanCount = 0;
  for (const resourceSpans of tracesData.resourceSpans ?? []) {
    const resourceAttributes = resourceSpans.resource?.attributes ?? [];
    const serviceName = findAttribute(resourceAttributes, 'service.name')?.stringValue ?? UNKNOWN_SERVICE_NAME;
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      const scopeName = scopeSpans.scope?.name ?? '';
      for (const otlpSpan of scopeSpans.spans ?? []) {
        const startUnixNano = parseUnixNanos(otlpSpan.startTimeUnixNano);
        if (startUnixNano === null) {
          droppedSpanCount += 1;
          continue;
        }
        const endOrNull = parseUnixNanos(otlpSpan.endTimeUnixNano);
        // A missing or inverted end shows as a zero-length span rather than a negative bar.
        const endUnixNano = endOrNull !== null && endOrNull > startUnixNano ? endOrNull : startUnixNano;
        readable.push({ otlpSpan, startUnixNano, endUnixNano, serviceName, resourceAttributes, scopeName });
      }
    }
  }

  if (readable.length === 0) {
    return { traceId: '', traceStartUnixNano: 0n, durationNanos: 0, spans: [], droppedSpanCount };
  }

  let traceStartUnixNano = readable[0]!.startUnixNano;
  let traceEndUnixNano = readable[0]!.endUnixNano;
  for (const { startUnixNano, endUnixNano } of readable) {
    if (startUnixNano < traceStartUnixNano) traceStartUnixNano = startUnixNano;
    if (endUnixNano > traceEndUnixNano) traceEndUnixNano = endUnixNano;
  }
  // Subtract as BigInt first, so only the small difference is converted to a float.
  const offsetOf = (unixNano: bigint): number => Number(unixNano - traceStartUnixNano);

  const spans = readable.map(({ otlpSpan, startUnixNano, endUnixNano, serviceName, resourceAttributes, scopeName }) => {
    const events: TraceSpanEvent[] = [];
    for (const event of otlpSpan.events ?? []) {
      const eventUnixNano = parseUnixNanos(event.timeUnixNano);
      // An event without a readable time cannot be placed on the time line.
      if (eventUnixNano === null) continue;
      events.push({ name: event.name, timeOffsetNanos: offsetOf(eventUnixNano), attributes: event.attributes ?? [] });
    }
    const span: TraceSpan = {
      traceId: otlpSpan.traceId.toLowerCase(),
      spanId: otlpSpan.spanId.toLowerCase(),
      parentSpanId: normaliseParentSpanId(otlpSpan.parentSpanId),
      name: otlpSpan.name,
      kind: spanKindFromOtlp(otlpSpan.kind),
      serviceName,
      startOffsetNanos: offsetOf(startUnixNano),
      endOffsetNanos: offsetOf(endUnixNano),
      durationNanos: Number(endUnixNano - startUnixNano),
      statusCode: statusCodeFromOtlp(otlpSpan.status?.code),
      statusMessage: otlpSpan.status?.message ?? '',
      attributes: otlpSpan.attributes ?? [],
      resourceAttributes,
      scopeName,
      events,
      links: otlpSpan.links ?? [],
    };
    return span;
  });

  return {
    traceId: spans[0]!.traceId,
    traceStartUnixNano,
    durationNanos: offsetOf(traceEndUnixNano),
    spans,
    droppedSpanCount,
  };
}
