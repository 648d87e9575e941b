// The trace page's "Diagnosis" section: what Weft finds in this trace (broken trace, bottleneck,
// repeated calls, timeout misconfiguration, call cycle), each finding with its message and the
// spans it is about, which select (and scroll to) the span in the waterfall or highlight them
// all. From `GET /api/v1/traces/{traceId}/diagnosis`, asked once when the trace page loads.
// Collapsed by default; a failure stays inside the section.
import { useState } from 'preact/hooks';
import { type TraceDiagnosis as Diagnosis, type TraceFinding, fetchTraceDiagnosis } from '../api';
import { useApi } from '../hooks';
import { describeFindingValue, findingLabels, findingSpans, groupByKind, highlightedSpanIds } from '../lib/diagnostics';
import { normaliseTraceId } from '../lib/trace-id';
import { ErrorBanner, ServiceBadge } from './common';
import { FindingKindBadge } from './diagnostics-common';

/** Span buttons shown per finding before "show all". */
const SPANS_SHOWN = 10;

interface TraceDiagnosisProps {
  /** The trace ID as the page's URL has it. */
  traceId: string;
  /** Whether the waterfall has this (lower-case) span ID. */
  hasSpan: (spanId: string) => boolean;
  /** The span's name, for the buttons' tooltips; null when the trace does not have it. */
  spanName: (spanId: string) => string | null;
  /** Selects a span in the waterfall and scrolls to it, as a click on its row does. */
  onSelectSpan: (spanId: string) => void;
  /** The finding whose spans the waterfall highlights (its index in the answer), or null. */
  highlighted: number | null;
  /** Highlights a finding's spans (null: none). */
  onHighlight: (finding: number | null, spanIds: ReadonlySet<string>) => void;
}

export function TraceDiagnosis(props: TraceDiagnosisProps) {
  const canonicalId = normaliseTraceId(props.traceId) ?? props.traceId;
  const answer = useApi<Diagnosis>((signal) => fetchTraceDiagnosis(canonicalId, signal), [canonicalId]);
  const notFound = answer.status === 'failed' && answer.error.status === 404;
  const findings = answer.data?.findings ?? [];
  return (
    <details
      class="diagnosis"
      data-testid="diagnosis-section"
      data-status={answer.status}
      data-findings={answer.status === 'ready' ? findings.length : undefined}
    >
      <summary>
        <span class="diagnosis-title">Diagnosis</span>
        {answer.status === 'loading' && <span class="muted">loading…</span>}
        {answer.status === 'ready' && (
          <span class={`tone-badge ${findings.length > 0 ? 'tone-warning' : 'tone-success'}`} data-testid="diagnosis-count">
            {findings.length === 0 ? 'No findings' : `${findings.length} ${findings.length === 1 ? 'finding' : 'findings'}`}
          </span>
        )}
        {answer.status === 'ready' && findings.length > 0 && (
          <span class="diagnosis-summary" data-testid="diagnosis-summary">
            {findingLabels(findings).join(', ')}
          </span>
        )}
        {notFound && <span class="muted">No diagnosis for this trace</span>}
        {answer.status === 'failed' && !notFound && (
          <span class="error-text" data-testid="diagnosis-error">
            Cannot load the diagnosis
          </span>
        )}
      </summary>
      <div class="diagnosis-body">
        {answer.status === 'loading' && <p class="muted">Looking for findings…</p>}
        {notFound && <p class="muted">The server has no stored spans for this trace to analyze.</p>}
        {answer.status === 'failed' && !notFound && <ErrorBanner error={answer.error} title="The diagnosis could not be loaded" />}
        {answer.status === 'ready' && <Findings diagnosis={answer.data} {...props} />}
      </div>
    </details>
  );
}

function Findings({ diagnosis, ...props }: TraceDiagnosisProps & { diagnosis: Diagnosis }) {
  const findings = diagnosis.findings;
  const settings = diagnosis.settings;
  const thresholds = settings
    ? `Bottleneck: a span's own time over ${Number((settings.bottleneckShare * 100).toFixed(1))} % of the trace; repeated calls: the same call ${settings.repeatedCallThreshold} times or more under one parent.`
    : null;
  if (findings.length === 0) {
    return (
      <p data-testid="diagnosis-none">
        No findings: no broken parent links, bottleneck, repeated calls, timeout misconfiguration or call cycle in this trace.
        {thresholds && <span class="muted"> {thresholds}</span>}
      </p>
    );
  }
  // Grouped by kind (in kind order), each finding keeping its index in the answer.
  const indexed = findings.map((finding, index) => ({ ...finding, index }));
  return (
    <>
      <ul class="diagnosis-findings">
        {groupByKind(indexed).flatMap((group) =>
          group.rows.map((finding) => (
            <FindingItem
              key={finding.index}
              finding={finding}
              index={finding.index}
              {...props}
              onHighlight={(chosen) => props.onHighlight(chosen, highlightedSpanIds(findings, chosen === null ? [] : [chosen], props.hasSpan))}
            />
          )),
        )}
      </ul>
      {thresholds && <p class="muted diagnosis-settings">{thresholds}</p>}
    </>
  );
}

function FindingItem({
  finding,
  index,
  hasSpan,
  spanName,
  onSelectSpan,
  highlighted,
  onHighlight,
}: Omit<TraceDiagnosisProps, 'traceId' | 'onHighlight'> & { finding: TraceFinding; index: number; onHighlight: (finding: number | null) => void }) {
  const [showAll, setShowAll] = useState(false);
  const spans = findingSpans(finding.spanIds, hasSpan);
  const shown = showAll ? spans.present : spans.present.slice(0, SPANS_SHOWN);
  const isHighlighted = highlighted === index;
  return (
    <li class="diagnosis-finding" data-testid="diagnosis-finding" data-kind={finding.kind}>
      <div class="diagnosis-finding-head">
        <FindingKindBadge kind={finding.kind} title={finding.title} />
        <ServiceBadge name={finding.service} />
        <span class="diagnosis-operation">{finding.operation}</span>
        <span class="muted">· {describeFindingValue(finding.kind, finding.value)}</span>
      </div>
      <p class="diagnosis-message" data-testid="diagnosis-message">
        {finding.message}
      </p>
      {(spans.present.length > 0 || spans.missing.length > 0) && (
        <div class="diagnosis-spans" role="group" aria-label={`Spans of this ${finding.title || 'finding'}`}>
          <span class="muted">{spans.present.length + spans.missing.length === 1 ? 'Span:' : 'Spans:'}</span>
          {shown.map((spanId) => {
            const name = spanName(spanId);
            return (
              <button
                key={spanId}
                type="button"
                class="button-small mono diagnosis-span"
                title={name ? `Select “${name}” (${spanId}) in the waterfall` : `Select span ${spanId} in the waterfall`}
                data-testid="diagnosis-span-button"
                data-span-id={spanId}
                onClick={() => onSelectSpan(spanId)}
              >
                {spanId}
              </button>
            );
          })}
          {spans.present.length > SPANS_SHOWN && (
            <button type="button" class="button-small secondary" aria-expanded={showAll} onClick={() => setShowAll(!showAll)}>
              {showAll ? 'Show fewer' : `Show all ${spans.present.length}`}
            </button>
          )}
          {spans.missing.map((spanId) => (
            <span key={spanId} class="mono muted" title="This span is not in the trace as loaded">
              {spanId}
            </span>
          ))}
          {spans.present.length > 1 && (
            <button
              type="button"
              class="button-small secondary"
              aria-pressed={isHighlighted}
              data-testid="diagnosis-highlight"
              onClick={() => onHighlight(isHighlighted ? null : index)}
            >
              {isHighlighted ? 'Clear highlight' : `Highlight ${spans.present.length} spans`}
            </button>
          )}
        </div>
      )}
    </li>
  );
}
