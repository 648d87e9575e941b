#!/usr/bin/env node
// Send spans to an OTLP endpoint with the real OpenTelemetry JS SDK (2.x).
//
// Spawned by Weft's integration tests (install with scripts/install-test-deps.sh):
//   node send_spans.mjs --protocol grpc --endpoint http://127.0.0.1:4317 \
//       --service checkout --traces 5 --spans-per-trace 4 [--compression gzip] \
//       [--downstream-service orders-db-proxy] [--dump-otlp /tmp/sent.pb]
//   node send_spans.mjs --protocol http --endpoint http://127.0.0.1:4318/v1/traces ...
//
// Same trace shape and stdout contract as ../python/send_spans.py: each trace has
// one root SERVER span and M-1 children (INTERNAL spans under the root, each
// followed, while spans remain, by a CLIENT span under that INTERNAL span).
// Every span carries string, int, double, bool, string[] and int[] attributes
// and exactly one event; the root of every third trace (index 2, 5, 8, ...) has
// status ERROR plus an "exception" event from recordException. Every CLIENT span
// also has exactly one link, to its trace's root span, with the link attributes
// {"link.reason": "retry-of-root", "link.attempt": 2} (this adds no spans).
//
// --downstream-service NAME adds a second tracer provider whose resource is the
// main one with service.name = NAME (all other attributes, process.runtime.name
// included, unchanged); it exports through the same exporter (same endpoint and
// protocol). Under every CLIENT span it creates one SERVER span
// "orders-db-proxy.Query" (parent: the CLIENT span, ended before it) with the
// common attributes (same trace/span index as that CLIENT span) plus
// "rpc.system": "grpc" and one event "proxy.forwarded" {"attempt": 1}. Both
// providers are shut down (flushed) before the results are checked. Without the
// option there are N*M spans; with it, N*M plus one per CLIENT span.
//
// --dump-otlp FILE: after a successful run, writes every successfully exported
// span (of both providers) to FILE as ONE binary protobuf
// opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, encoded by
// the SDK's own serializer (@opentelemetry/otlp-transformer
// ProtobufTraceSerializer), i.e. what the SDK sent.
//
// Exit status 0 only if every export call reported ExportResultCode.SUCCESS and
// every created span (of both providers) was exported; then stdout has one JSON
// object per span ("service" is that span's own resource service.name):
//   {"trace_id","span_id","name","service","parent_span_id","kind","status"}
// On failure a message starting with "send_spans.mjs: error:" goes to stderr and
// the exit status is 1 (2 for bad arguments).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const EXPORT_TIMEOUT_MS = 10_000; // per export call, retries included
const BSP_EXPORT_TIMEOUT_MS = 12_000; // processor gives up on a batch after this
const SCHEDULE_DELAY_MS = 200;
const MAX_EXPORT_BATCH = 512;

function usage(msg) {
  process.stderr.write(
    `send_spans.mjs: error: ${msg}\n` +
      'usage: node send_spans.mjs --protocol grpc|http --endpoint URL --service NAME ' +
      '--traces N --spans-per-trace M [--compression gzip|none] ' +
      '[--downstream-service NAME] [--dump-otlp FILE]\n',
  );
  process.exit(2);
}

function fail(msg) {
  process.stderr.write(`send_spans.mjs: error: ${msg}\n`, () => process.exit(1));
}

function parseCli() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        protocol: { type: 'string' },
        endpoint: { type: 'string' },
        service: { type: 'string' },
        traces: { type: 'string' },
        'spans-per-trace': { type: 'string' },
        compression: { type: 'string', default: 'none' },
        'downstream-service': { type: 'string' },
        'dump-otlp': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage(e.message);
  }
  for (const k of ['protocol', 'endpoint', 'service', 'traces', 'spans-per-trace']) {
    if (values[k] === undefined) usage(`--${k} is required`);
  }
  if (!['grpc', 'http'].includes(values.protocol)) usage('--protocol must be grpc or http');
  if (!['gzip', 'none'].includes(values.compression)) usage('--compression must be gzip or none');
  if (!/^https?:\/\//.test(values.endpoint)) usage('--endpoint must be an http:// or https:// URL');
  if (values['downstream-service'] === '') usage('--downstream-service must not be empty');
  if (values['dump-otlp'] === '') usage('--dump-otlp must not be empty');
  const traces = Number(values.traces);
  const spansPerTrace = Number(values['spans-per-trace']);
  if (!Number.isInteger(traces) || traces < 0) usage('--traces must be an integer >= 0');
  if (!Number.isInteger(spansPerTrace) || spansPerTrace < 1) {
    usage('--spans-per-trace must be an integer >= 1');
  }
  return {
    ...values,
    traces,
    spansPerTrace,
    downstreamService: values['downstream-service'],
    dumpOtlp: values['dump-otlp'],
  };
}

const args = parseCli();

// grpc-js honours grpc_proxy/http_proxy; these tests only ever talk to this
// machine, so never route loopback through a proxy. Must be set before the
// exporter (and its channel) is created.
for (const v of ['no_grpc_proxy', 'no_proxy', 'NO_PROXY']) {
  const loopback = '127.0.0.1,localhost,::1';
  process.env[v] = process.env[v] ? `${process.env[v]},${loopback}` : loopback;
}

const { trace, diag, DiagConsoleLogger, DiagLogLevel, SpanKind, SpanStatusCode, ROOT_CONTEXT } =
  await import('@opentelemetry/api');
const { ExportResultCode } = await import('@opentelemetry/core');
const { defaultResource, resourceFromAttributes } = await import('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const semconv = await import('@opentelemetry/semantic-conventions');
const incubating = await import('@opentelemetry/semantic-conventions/incubating');

/**
 * Writes `spans` to `file` as one binary ExportTraceServiceRequest, serialized by
 * the SDK's own OTLP serializer. Returns false (after fail()) on error.
 */
async function dumpOtlp(file, spans) {
  try {
    const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
    const data = ProtobufTraceSerializer.serializeRequest(spans);
    if (data === undefined) throw new Error('ProtobufTraceSerializer.serializeRequest returned undefined');
    writeFileSync(file, data);
    return true;
  } catch (e) {
    fail(`--dump-otlp ${file}: ${e.message ?? e}`);
    return false;
  }
}

// SDK warnings/errors (e.g. the cause of a failed export) go to stderr.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

/**
 * Delegates to the real OTLP exporter and records every ExportResult. Shared by
 * `users` tracer providers: the inner exporter is shut down only when the last
 * of them shuts down.
 */
class RecordingExporter {
  constructor(inner, users = 1) {
    this.inner = inner;
    this.users = users;
    this.results = []; // { count, code, error }
    this.exported = [];
  }

  export(spans, resultCallback) {
    if (this.results.some((r) => r.code !== ExportResultCode.SUCCESS)) {
      // The run has failed already: don't wait another full timeout.
      const result = { code: ExportResultCode.FAILED, error: new Error('skipped: an earlier export failed') };
      this.results.push({ count: spans.length, code: result.code, error: result.error });
      resultCallback(result);
      return;
    }
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      this.results.push({ count: spans.length, code: result.code, error: result.error });
      if (result.code === ExportResultCode.SUCCESS) this.exported.push(...spans);
      resultCallback(result);
    };
    try {
      this.inner.export(spans, finish);
    } catch (e) {
      finish({ code: ExportResultCode.FAILED, error: e });
    }
  }

  shutdown() {
    this.users -= 1;
    return this.users === 0 ? this.inner.shutdown() : Promise.resolve();
  }

  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

let inner;
if (args.protocol === 'grpc') {
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
  // An http:// URL selects insecure (plaintext) credentials.
  inner = new OTLPTraceExporter({
    url: args.endpoint,
    timeoutMillis: EXPORT_TIMEOUT_MS,
    compression: args.compression,
  });
} else {
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  inner = new OTLPTraceExporter({
    url: args.endpoint,
    timeoutMillis: EXPORT_TIMEOUT_MS,
    compression: args.compression,
  });
}

const exporter = new RecordingExporter(inner, args.downstreamService !== undefined ? 2 : 1);
const totalSpans = args.traces * args.spansPerTrace;

function makeProvider(serviceName) {
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: serviceName,
      [semconv.ATTR_SERVICE_VERSION]: '1.4.2',
      [incubating.ATTR_SERVICE_NAMESPACE]: 'weft-tests',
      [incubating.ATTR_HOST_NAME]: 'weft-test-host',
      [incubating.ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'test',
      [incubating.ATTR_PROCESS_RUNTIME_NAME]: 'nodejs',
    }),
  );
  return new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: Math.max(2048, totalSpans), // never drop spans
        maxExportBatchSize: MAX_EXPORT_BATCH,
        scheduledDelayMillis: SCHEDULE_DELAY_MS,
        exportTimeoutMillis: BSP_EXPORT_TIMEOUT_MS,
      }),
    ],
  });
}

const provider = makeProvider(args.service);
const tracer = provider.getTracer('weft.sdk-test.node', '0.1.0');
const providers = [provider];
let downstreamTracer = null;
if (args.downstreamService !== undefined) {
  const downstreamProvider = makeProvider(args.downstreamService);
  providers.push(downstreamProvider);
  downstreamTracer = downstreamProvider.getTracer('weft.sdk-test.node', '0.1.0');
}
let createdSpans = 0;

function commonAttrs(traceIdx, spanIdx) {
  return {
    'weft.test.trace_index': traceIdx, // int
    'weft.test.span_index': spanIdx, // int
    'weft.test.ratio': 0.25 + spanIdx, // double
    'weft.test.sampled': spanIdx % 2 === 0, // bool
    'weft.test.tags': ['alpha', 'beta', `t${traceIdx}`], // string[]
    'weft.test.codes': [200, 404, spanIdx], // int[]
    'weft.test.sdk': 'node', // string
  };
}

for (let i = 0; i < args.traces; i++) {
  const isError = i % 3 === 2;
  const root = tracer.startSpan(
    'GET /api/orders/{id}',
    {
      kind: SpanKind.SERVER,
      root: true,
      attributes: {
        ...commonAttrs(i, 0),
        [semconv.ATTR_HTTP_REQUEST_METHOD]: 'GET',
        [semconv.ATTR_HTTP_ROUTE]: '/api/orders/{id}',
        [semconv.ATTR_URL_PATH]: `/api/orders/${1000 + i}`,
        [semconv.ATTR_HTTP_RESPONSE_STATUS_CODE]: isError ? 500 : 200,
        [semconv.ATTR_SERVER_ADDRESS]: 'orders.internal',
        [semconv.ATTR_SERVER_PORT]: 8080,
      },
    },
    ROOT_CONTEXT,
  );
  createdSpans += 1;
  root.addEvent('request.received', { bytes: 512, 'client.retry': false });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  let j = 1;
  while (j < args.spansPerTrace) {
    const internal = tracer.startSpan(
      `process-order-step-${j}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { ...commonAttrs(i, j), [semconv.ATTR_CODE_FUNCTION_NAME]: 'processOrder' },
      },
      rootCtx,
    );
    createdSpans += 1;
    internal.addEvent('cache.lookup', { 'cache.hit': j % 2 === 1, 'cache.key': `order:${i}` });
    j += 1;
    if (j < args.spansPerTrace) {
      const client = tracer.startSpan(
        'SELECT orders',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...commonAttrs(i, j),
            [semconv.ATTR_DB_SYSTEM_NAME]: 'postgresql',
            [semconv.ATTR_DB_QUERY_TEXT]: 'SELECT * FROM orders WHERE id = $1',
            'db.response.returned_rows': 1,
          },
          links: [
            {
              context: root.spanContext(),
              attributes: { 'link.reason': 'retry-of-root', 'link.attempt': 2 },
            },
          ],
        },
        trace.setSpan(ROOT_CONTEXT, internal),
      );
      createdSpans += 1;
      client.addEvent('db.rows.fetched', { rows: 1, 'latency.ms': 1.5 });
      if (downstreamTracer !== null) {
        const proxy = downstreamTracer.startSpan(
          'orders-db-proxy.Query',
          {
            kind: SpanKind.SERVER,
            attributes: { ...commonAttrs(i, j), 'rpc.system': 'grpc' },
          },
          trace.setSpan(ROOT_CONTEXT, client),
        );
        createdSpans += 1;
        proxy.addEvent('proxy.forwarded', { attempt: 1 });
        proxy.end();
      }
      client.end();
      j += 1;
    }
    internal.end();
  }
  if (isError) {
    const err = new Error(`order ${1000 + i} not found`);
    err.name = 'OrderNotFoundError';
    root.recordException(err);
    root.setStatus({ code: SpanStatusCode.ERROR, message: 'order lookup failed' });
  }
  root.end();
}

let shutdownError = null;
for (const p of providers) {
  try {
    // Flushes the BatchSpanProcessor; the last one also shuts the exporter down.
    await p.shutdown();
  } catch (e) {
    shutdownError ??= e;
  }
}

const failed = exporter.results.filter((r) => r.code !== ExportResultCode.SUCCESS);
if (failed.length > 0) {
  const first = failed[0];
  fail(
    `${failed.length} of ${exporter.results.length} OTLP/${args.protocol} export call(s) to ` +
      `${args.endpoint} did not succeed (first: FAILED for ${first.count} span(s)` +
      `${first.error ? `; ${first.error.message ?? first.error}` : ''})`,
  );
} else if (shutdownError) {
  fail(`TracerProvider.shutdown() failed: ${shutdownError.message ?? shutdownError}`);
} else if (exporter.exported.length !== createdSpans) {
  fail(
    `created ${createdSpans} span(s) but only ${exporter.exported.length} were exported ` +
      `successfully to ${args.endpoint} (export still pending or spans dropped)`,
  );
} else if (args.dumpOtlp !== undefined && !(await dumpOtlp(args.dumpOtlp, exporter.exported))) {
  // dumpOtlp reported the error.
} else {
  const lines = exporter.exported.map((s) => {
    const ctx = s.spanContext();
    return JSON.stringify({
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
      name: s.name,
      service: s.resource.attributes[semconv.ATTR_SERVICE_NAME],
      parent_span_id: s.parentSpanContext?.spanId ?? null,
      kind: SpanKind[s.kind],
      status: SpanStatusCode[s.status.code],
    });
  });
  process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '', () => process.exit(0));
}
