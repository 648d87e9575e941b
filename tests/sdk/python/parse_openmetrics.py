"""Parses an OpenMetrics exposition (stdin) with the Prometheus Python client's parser and prints
what the Weft tests check, as JSON: per-series call totals, histogram counts, and every exemplar.

The parser is strict (it rejects anything the OpenMetrics spec does not allow, including
malformed exemplars), so a successful parse is itself part of the check.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def series_key(labels):
    return "|".join(
        labels.get(name, "")
        for name in ("service_name", "span_name", "span_kind", "status_code")
    )


def main():
    text = sys.stdin.read()
    calls = {}
    histogram_counts = {}
    exemplars = []
    families = []
    for family in text_string_to_metric_families(text):
        families.append({"name": family.name, "type": family.type, "unit": family.unit})
        for sample in family.samples:
            if family.name == "traces_span_metrics_calls" and sample.name.endswith("_total"):
                calls[series_key(sample.labels)] = sample.value
            if family.name == "traces_span_metrics_duration_seconds" and sample.name.endswith("_count"):
                histogram_counts[series_key(sample.labels)] = sample.value
            if sample.exemplar is not None:
                exemplars.append(
                    {
                        "series": series_key(sample.labels),
                        "le": sample.labels.get("le"),
                        "trace_id": sample.exemplar.labels.get("trace_id"),
                        "span_id": sample.exemplar.labels.get("span_id"),
                        "value": sample.exemplar.value,
                        "timestamp": None
                        if sample.exemplar.timestamp is None
                        else float(sample.exemplar.timestamp),
                    }
                )
    json.dump(
        {
            "families": families,
            "calls": calls,
            "histogram_counts": histogram_counts,
            "exemplars": exemplars,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
