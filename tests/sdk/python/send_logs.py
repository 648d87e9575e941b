#!/usr/bin/env python3
"""Logs through Python's standard `logging`, bridged by the real OpenTelemetry logs SDK.

A service instrumented the usual way: a TracerProvider and a LoggerProvider with OTLP
exporters (gRPC or HTTP/protobuf), and the SDK's LoggingHandler on a plain `logging` logger,
so records written inside a span carry its trace and span IDs.

It writes, under one trace:
  * INFO  "order ORD-<n> accepted" inside the root span `checkout` (with `extra` attributes);
  * ERROR "payment declined: card expired" with the exception (logger.exception) inside the
    child span `charge`;
and outside any span:
  * WARNING "cache warm-up took <n> ms" (no trace context).

Usage: send_logs.py --protocol grpc|http --endpoint URL --service NAME

Exit status 0 only if every export (spans and logs) returned SUCCESS. Then stdout has one JSON
object: {"traceId", "spans": {name: spanId}, "logs": [{"body", "severity", "traceId",
"spanId"}]} with IDs in lowercase hex (null outside a span).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
from typing import Sequence


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True, help="gRPC: http://host:port; HTTP: http://host:port")
    p.add_argument("--service", required=True)
    return p.parse_args(argv)


def _bypass_proxy_for_loopback() -> None:
    loopback = "127.0.0.1,localhost,::1"
    for var in ("no_proxy", "NO_PROXY"):
        cur = os.environ.get(var, "")
        os.environ[var] = f"{cur},{loopback}" if cur else loopback


def _fail(msg: str) -> int:
    print(f"send_logs.py: error: {msg}", file=sys.stderr, flush=True)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    _bypass_proxy_for_loopback()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    from opentelemetry import trace
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=args.endpoint, insecure=True, timeout=10)
        log_exporter = OTLPLogExporter(endpoint=args.endpoint, insecure=True, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = args.endpoint.rstrip("/")
        span_exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=10)
        log_exporter = OTLPLogExporter(endpoint=f"{base}/v1/logs", timeout=10)

    results: list[str] = []

    class RecordingSpanExporter(SpanExporter):
        def export(self, spans):  # type: ignore[override]
            result = span_exporter.export(spans)
            results.append(f"spans:{result.name}")
            return result

        def shutdown(self) -> None:
            span_exporter.shutdown()

    class RecordingLogExporter(LogRecordExporter):
        def export(self, batch):  # type: ignore[override]
            result = log_exporter.export(batch)
            results.append(f"logs:{result.name}")
            return result

        def shutdown(self) -> None:
            log_exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    resource = Resource.create({"service.name": args.service, "service.version": "1.4.0"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(RecordingSpanExporter()))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(RecordingLogExporter()))

    tracer = tracer_provider.get_tracer("shop.checkout", "1.4.0")
    logger = logging.getLogger("shop.checkout")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

    order = random.randint(10_000, 99_999)
    hexid = lambda value, width: format(value, f"0{width}x")  # noqa: E731
    sent: dict = {"spans": {}, "logs": []}
    with tracer.start_as_current_span("checkout") as root:
        context = root.get_span_context()
        sent["traceId"] = hexid(context.trace_id, 32)
        sent["spans"]["checkout"] = hexid(context.span_id, 16)
        logger.info("order ORD-%d accepted", order, extra={"order.id": f"ORD-{order}", "cart.items": 3})
        sent["logs"].append({"body": f"order ORD-{order} accepted", "severity": "INFO",
                             "traceId": sent["traceId"], "spanId": sent["spans"]["checkout"]})
        with tracer.start_as_current_span("charge") as charge:
            sent["spans"]["charge"] = hexid(charge.get_span_context().span_id, 16)
            try:
                raise ValueError("card expired")
            except ValueError:
                logger.exception("payment declined: card expired")
            sent["logs"].append({"body": "payment declined: card expired", "severity": "ERROR",
                                 "traceId": sent["traceId"], "spanId": sent["spans"]["charge"]})
    warm_up_ms = random.randint(300, 900)
    logger.warning("cache warm-up took %d ms", warm_up_ms)
    sent["logs"].append({"body": f"cache warm-up took {warm_up_ms} ms", "severity": "WARN",
                         "traceId": None, "spanId": None})

    tracer_provider.shutdown()
    logger_provider.shutdown()
    failures = [result for result in results if not result.endswith("SUCCESS")]
    if failures or not any(r.startswith("logs:") for r in results):
        return _fail(f"exports did not all succeed: {results}")
    print(json.dumps(sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
