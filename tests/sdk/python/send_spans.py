#!/usr/bin/env python3
"""Send spans to an OTLP endpoint with the real OpenTelemetry Python SDK.

Spawned by Weft's integration tests (install the SDK with
scripts/install-test-deps.sh and run this with the venv's python):

    python3 send_spans.py --protocol grpc --endpoint http://127.0.0.1:4317 \
        --service checkout --traces 5 --spans-per-trace 4 [--compression gzip] \
        [--downstream-service orders-db-proxy] [--dump-otlp /tmp/sent.pb]
    python3 send_spans.py --protocol http --endpoint http://127.0.0.1:4318/v1/traces ...

Each trace has one root SERVER span and M-1 children: INTERNAL spans under the
root, each followed (while spans remain) by a CLIENT span under that INTERNAL
span, so traces are up to three levels deep. Every span carries attributes of
the types str, int, float, bool, list[str] and list[int], and exactly one
event. The root of every third trace (trace index 2, 5, 8, ...) has status
ERROR and an extra "exception" event from record_exception. Every CLIENT span
also has exactly one link, to its trace's root span, with the link attributes
{"link.reason": "retry-of-root", "link.attempt": 2} (this adds no spans).

--downstream-service NAME adds a second TracerProvider whose resource is the
main one with service.name = NAME (all other attributes, process.runtime.name
included, unchanged); it exports through the same exporter (same endpoint and
protocol). Under every CLIENT span it creates one SERVER span
"orders-db-proxy.Query" (parent: the CLIENT span, ended before it) with the
common attributes (same trace/span index as that CLIENT span) plus
"rpc.system": "grpc" and one event "proxy.forwarded" {"attempt": 1}. Both
providers are shut down (flushed) before the results are checked. Without the
option there are N*M spans; with it, N*M plus one per CLIENT span.

--dump-otlp FILE: after a successful run, writes every successfully exported
span (of both providers) to FILE as ONE binary protobuf
opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, encoded by
the SDK's own OTLP encoder (encode_spans), i.e. what the SDK sent.

Exit status 0 only if every export call returned SpanExportResult.SUCCESS and
every created span (of both providers) was exported. Then stdout has one JSON
object per span ("service" is that span's own resource service.name):
  {"trace_id": "<32 hex>", "span_id": "<16 hex>", "name": ..., "service": ...,
   "parent_span_id": "<16 hex>"|null, "kind": "SERVER"|"CLIENT"|"INTERNAL",
   "status": "UNSET"|"ERROR"}
On failure a message starting with "send_spans.py: error:" goes to stderr and
the exit status is 1 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn
from urllib.parse import urlparse

EXPORT_TIMEOUT_S = 10  # per export call, retries included
SCHEDULE_DELAY_MS = 200
MAX_EXPORT_BATCH = 512


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--protocol", choices=("grpc", "http"), required=True)
    p.add_argument("--endpoint", required=True,
                   help="grpc: http://127.0.0.1:4317; http: http://127.0.0.1:4318/v1/traces")
    p.add_argument("--service", required=True, help="resource service.name")
    p.add_argument("--traces", type=int, required=True, help="number of traces (N >= 0)")
    p.add_argument("--spans-per-trace", type=int, required=True, help="spans per trace (M >= 1)")
    p.add_argument("--compression", choices=("gzip", "none"), default="none")
    p.add_argument("--downstream-service", metavar="NAME", default=None,
                   help="service.name of a second provider that adds a SERVER span under every CLIENT span")
    p.add_argument("--dump-otlp", metavar="FILE", default=None,
                   help="after a successful run, write all exported spans to FILE as one binary "
                        "OTLP ExportTraceServiceRequest")
    args = p.parse_args(argv)
    if args.traces < 0:
        p.error("--traces must be >= 0")
    if args.spans_per_trace < 1:
        p.error("--spans-per-trace must be >= 1")
    if urlparse(args.endpoint).scheme not in ("http", "https"):
        p.error("--endpoint must be an http:// or https:// URL")
    if args.downstream_service is not None and not args.downstream_service:
        p.error("--downstream-service must not be empty")
    if args.dump_otlp is not None and not args.dump_otlp:
        p.error("--dump-otlp must not be empty")
    return args


def _bypass_proxy_for_loopback() -> None:
    # requests (HTTP exporter) and gRPC core both honour http_proxy/https_proxy;
    # the tests only ever talk to this machine, so never route loopback via a proxy.
    loopback = "127.0.0.1,localhost,::1"
    for var in ("no_proxy", "NO_PROXY"):
        cur = os.environ.get(var, "")
        os.environ[var] = f"{cur},{loopback}" if cur else loopback


def _fail(msg: str) -> NoReturn:
    print(f"send_spans.py: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class _LastProblem(logging.Handler):
    """Remembers the SDK's last warning/error so the failure message can name the cause."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.message = record.getMessage()
        except Exception:  # noqa: BLE001
            pass


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    _bypass_proxy_for_loopback()
    # SDK warnings/errors (e.g. the cause of a failed export) go to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    last_problem = _LastProblem()
    logging.getLogger().addHandler(last_problem)

    # Imported after argument parsing so `--help` works without the SDK installed.
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    class RecordingExporter(SpanExporter):
        """Delegates to the real OTLP exporter and records every export result.

        After the first failed export, later batches fail immediately instead of
        waiting for another full timeout: the run has failed anyway.

        Shared by `users` tracer providers: export calls are serialized, and the
        inner exporter is shut down only when the last provider shuts down.
        """

        def __init__(self, inner: SpanExporter, users: int = 1) -> None:
            self._inner = inner
            self._lock = threading.Lock()
            self._export_lock = threading.Lock()
            self._users = users
            self.results: list[tuple[int, SpanExportResult, str | None]] = []
            self.exported: list[ReadableSpan] = []

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            spans = list(spans)
            with self._lock:
                already_failed = any(r is not SpanExportResult.SUCCESS for _, r, _ in self.results)
            if already_failed:
                result, err = SpanExportResult.FAILURE, "skipped: an earlier export failed"
            else:
                try:
                    with self._export_lock:
                        result, err = self._inner.export(spans), None
                except Exception as e:  # noqa: BLE001 - any exception is a failed export
                    result, err = SpanExportResult.FAILURE, f"{type(e).__name__}: {e}"
                if result is None:
                    result = SpanExportResult.FAILURE
            with self._lock:
                self.results.append((len(spans), result, err))
                if result is SpanExportResult.SUCCESS:
                    self.exported.extend(spans)
            return result

        def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:  # noqa: ARG002
            with self._lock:
                self._users -= 1
                last = self._users == 0
            if last:
                self._inner.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self._inner.force_flush(timeout_millis)

    if args.protocol == "grpc":
        from grpc import Compression as GrpcCompression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        inner: SpanExporter = GrpcSpanExporter(
            endpoint=args.endpoint,
            insecure=urlparse(args.endpoint).scheme == "http",
            timeout=EXPORT_TIMEOUT_S,
            compression=GrpcCompression.Gzip if args.compression == "gzip" else GrpcCompression.NoCompression,
        )
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        inner = HttpSpanExporter(
            endpoint=args.endpoint,
            timeout=EXPORT_TIMEOUT_S,
            compression=HttpCompression.Gzip if args.compression == "gzip" else HttpCompression.NoCompression,
        )

    exporter = RecordingExporter(inner, users=2 if args.downstream_service is not None else 1)
    total_spans = args.traces * args.spans_per_trace

    def make_provider(service_name: str) -> TracerProvider:
        resource = Resource.create({
            "service.name": service_name,
            "service.version": "1.4.2",
            "service.namespace": "weft-tests",
            "host.name": "weft-test-host",
            "deployment.environment.name": "test",
            "process.runtime.name": "cpython",
        })
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(
            exporter,
            max_queue_size=max(2048, total_spans),  # never drop spans
            schedule_delay_millis=SCHEDULE_DELAY_MS,
            max_export_batch_size=MAX_EXPORT_BATCH,
            export_timeout_millis=EXPORT_TIMEOUT_S * 1000,
        ))
        return provider

    provider = make_provider(args.service)
    tracer = provider.get_tracer("weft.sdk-test.python", "0.1.0")
    providers = [provider]
    downstream_tracer = None
    if args.downstream_service is not None:
        downstream_provider = make_provider(args.downstream_service)
        providers.append(downstream_provider)
        downstream_tracer = downstream_provider.get_tracer("weft.sdk-test.python", "0.1.0")
    created_spans = 0

    def common_attrs(trace_idx: int, span_idx: int) -> dict:
        return {
            "weft.test.trace_index": trace_idx,      # int
            "weft.test.span_index": span_idx,        # int
            "weft.test.ratio": 0.25 + span_idx,      # float
            "weft.test.sampled": span_idx % 2 == 0,  # bool
            "weft.test.tags": ["alpha", "beta", f"t{trace_idx}"],  # list[str]
            "weft.test.codes": [200, 404, span_idx],  # list[int]
            "weft.test.sdk": "python",               # str
        }

    for i in range(args.traces):
        is_error = i % 3 == 2
        root = tracer.start_span(
            "GET /api/orders/{id}",
            context=Context(),  # a fresh trace
            kind=SpanKind.SERVER,
            attributes={
                **common_attrs(i, 0),
                "http.request.method": "GET",
                "http.route": "/api/orders/{id}",
                "url.path": f"/api/orders/{1000 + i}",
                "http.response.status_code": 500 if is_error else 200,
                "server.address": "orders.internal",
                "server.port": 8080,
            },
        )
        created_spans += 1
        root.add_event("request.received", {"bytes": 512, "client.retry": False})
        root_ctx = trace.set_span_in_context(root)
        j = 1
        while j < args.spans_per_trace:
            internal = tracer.start_span(
                f"process-order-step-{j}", context=root_ctx, kind=SpanKind.INTERNAL,
                attributes={**common_attrs(i, j), "code.function.name": "process_order"},
            )
            created_spans += 1
            internal.add_event("cache.lookup", {"cache.hit": j % 2 == 1, "cache.key": f"order:{i}"})
            j += 1
            if j < args.spans_per_trace:
                client = tracer.start_span(
                    "SELECT orders", context=trace.set_span_in_context(internal), kind=SpanKind.CLIENT,
                    attributes={
                        **common_attrs(i, j),
                        "db.system.name": "postgresql",
                        "db.query.text": "SELECT * FROM orders WHERE id = $1",
                        "db.response.returned_rows": 1,
                    },
                    links=[Link(root.get_span_context(), {"link.reason": "retry-of-root", "link.attempt": 2})],
                )
                created_spans += 1
                client.add_event("db.rows.fetched", {"rows": 1, "latency.ms": 1.5})
                if downstream_tracer is not None:
                    proxy = downstream_tracer.start_span(
                        "orders-db-proxy.Query", context=trace.set_span_in_context(client), kind=SpanKind.SERVER,
                        attributes={**common_attrs(i, j), "rpc.system": "grpc"},
                    )
                    created_spans += 1
                    proxy.add_event("proxy.forwarded", {"attempt": 1})
                    proxy.end()
                client.end()
                j += 1
            internal.end()
        if is_error:
            try:
                raise ValueError(f"order {1000 + i} not found")
            except ValueError as exc:
                root.record_exception(exc, attributes={"weft.test.handled": True})
            root.set_status(Status(StatusCode.ERROR, "order lookup failed"))
        root.end()

    for p in providers:
        try:
            # Flushes the BatchSpanProcessor; the last one also shuts the exporter down.
            p.shutdown()
        except Exception as e:  # noqa: BLE001
            _fail(f"TracerProvider.shutdown() raised {type(e).__name__}: {e}")

    failed = [(n, r, err) for n, r, err in exporter.results if r is not SpanExportResult.SUCCESS]
    if failed:
        n, r, err = failed[0]
        _fail(
            f"{len(failed)} of {len(exporter.results)} OTLP/{args.protocol} export call(s) to "
            f"{args.endpoint} did not succeed (first: {r.name} for {n} span(s)"
            f"{'; ' + err if err else ''})"
            + (f"; last SDK message: {last_problem.message}" if last_problem.message else "")
        )
    if len(exporter.exported) != created_spans:
        _fail(
            f"created {created_spans} span(s) but only {len(exporter.exported)} were exported "
            f"successfully to {args.endpoint} (export still pending or spans dropped)"
        )

    if args.dump_otlp is not None:
        try:
            from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

            data = encode_spans(exporter.exported).SerializeToString()
            with open(args.dump_otlp, "wb") as f:
                f.write(data)
        except Exception as e:  # noqa: BLE001
            _fail(f"--dump-otlp {args.dump_otlp}: {type(e).__name__}: {e}")

    out = sys.stdout
    for s in exporter.exported:
        out.write(json.dumps({
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "name": s.name,
            "service": s.resource.attributes.get("service.name"),
            "parent_span_id": format(s.parent.span_id, "016x") if s.parent is not None else None,
            "kind": s.kind.name,
            "status": s.status.status_code.name,
        }) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
