// The trace page's "Sampling" section: whether the cold tier keeps the trace and why (the rules
// that hold on which spans, the random share, the shard windows and what each tier holds), from
// `GET /api/v1/sampling/explain/{traceId}`. Collapsed by default; it loads once the trace has,
// and a failure stays inside the section.
import { type SamplingExplanation, fetchSamplingExplanation } from '../api';
import { useApi } from '../hooks';
import {
  type SamplingRuleGroup,
  describeColdWriter,
  describeDecision,
  describeDefaultShare,
  describeShardState,
  formatShardWindow,
  formatSpanCount,
  groupRulesByName,
} from '../lib/sampling';
import { normaliseTraceId } from '../lib/trace-id';
import { Link, urlWith } from '../router';
import { ServiceBadge } from './common';

interface TraceSamplingProps {
  /** The trace ID as the page's URL has it (links keep that form). */
  traceId: string;
  /** Whether the waterfall has this (lower-case) span ID, so a link to it can select it. */
  hasSpan: (spanId: string) => boolean;
  /** Selects a span in the waterfall, as a click on its row does. */
  onSelectSpan: (spanId: string) => void;
}

export function TraceSampling({ traceId, hasSpan, onSelectSpan }: TraceSamplingProps) {
  // The explain endpoint takes the canonical 32-digit ID; the page also accepts shorter ones.
  const canonicalId = normaliseTraceId(traceId) ?? traceId;
  const answer = useApi<SamplingExplanation>((signal) => fetchSamplingExplanation(canonicalId, signal), [canonicalId]);
  const notFound = answer.status === 'failed' && answer.error.status === 404;
  return (
    <details class="sampling" data-testid="sampling-section" data-status={answer.status}>
      <summary>
        <span class="sampling-title">Sampling</span>
        {answer.status === 'loading' && <span class="muted">loading…</span>}
        {answer.status === 'ready' && <DecisionBadge decision={answer.data.decision} />}
        {answer.status === 'ready' && <span class="sampling-summary">{answer.data.summary}</span>}
        {notFound && (
          <span class="muted" data-testid="sampling-none">
            No sampling information for this trace
          </span>
        )}
        {answer.status === 'failed' && !notFound && (
          <span class="error-text" data-testid="sampling-error">
            Cannot load the sampling explanation
          </span>
        )}
      </summary>
      <div class="sampling-body">
        {answer.status === 'loading' && <p class="muted">Loading the sampling explanation…</p>}
        {notFound && <p class="muted">Neither tier nor any sampling shard knows this trace.</p>}
        {answer.status === 'failed' && !notFound && (
          <p class="error-text" role="status">
            {answer.error.message}
            {answer.error.status > 0 && <span class="muted"> (HTTP {answer.error.status}, {answer.error.code})</span>}
          </p>
        )}
        {answer.status === 'ready' && <SamplingDetails traceId={traceId} explanation={answer.data} hasSpan={hasSpan} onSelectSpan={onSelectSpan} />}
      </div>
    </details>
  );
}

function DecisionBadge({ decision }: { decision: string }) {
  const shown = describeDecision(decision);
  return (
    <span class={`tone-badge tone-${shown.tone}`} title={shown.title} data-testid="sampling-decision" data-decision={decision}>
      {shown.label}
    </span>
  );
}

function SamplingDetails({ traceId, explanation, hasSpan, onSelectSpan }: TraceSamplingProps & { explanation: SamplingExplanation }) {
  const groups = groupRulesByName(explanation.rules ?? []);
  const shards = explanation.shards ?? [];
  return (
    <>
      {groups.length === 0 ? (
        <p class="muted" data-testid="sampling-no-rules">
          No sampling rule holds on any span of this trace.
        </p>
      ) : (
        <table class="data-table sampling-table" data-testid="sampling-rules">
          <caption class="visually-hidden">Sampling rules that hold on spans of this trace</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Service</th>
              <th scope="col">Operation</th>
              <th scope="col">Span</th>
            </tr>
          </thead>
          {groups.map((group) => (
            <RuleGroupRows key={group.rule} traceId={traceId} group={group} hasSpan={hasSpan} onSelectSpan={onSelectSpan} />
          ))}
        </table>
      )}

      <p class="sampling-line" data-testid="sampling-default-share">
        {describeDefaultShare(explanation.defaultShare)}
      </p>

      {shards.length === 0 ? (
        <p class="muted sampling-line">No shard window covers this trace.</p>
      ) : (
        <table class="data-table sampling-table" data-testid="sampling-shards">
          <caption class="visually-hidden">Sampling shard windows that may hold this trace's mark</caption>
          <thead>
            <tr>
              <th scope="col">Shard window (local time)</th>
              <th scope="col">State</th>
              <th scope="col">Contains this trace</th>
            </tr>
          </thead>
          <tbody>
            {shards.map((shard) => {
              const state = describeShardState(shard.state);
              return (
                <tr key={`${shard.start}-${shard.end}`} data-testid="sampling-shard-row" data-state={shard.state}>
                  <td class="mono">{formatShardWindow(shard.start, shard.end)}</td>
                  <td title={state.title}>{state.label}</td>
                  <td>{shard.containsTrace ? 'yes' : 'no'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <p class="sampling-line" data-testid="sampling-tiers">
        Hot tier: <strong>{formatSpanCount(explanation.tiers?.hot?.spans ?? 0)}</strong> · Cold tier:{' '}
        <strong>{formatSpanCount(explanation.tiers?.cold?.spans ?? 0)}</strong>
      </p>
      <p class="sampling-line muted">{describeColdWriter(explanation.coldWriter)}</p>
    </>
  );
}

function RuleGroupRows({ traceId, group, hasSpan, onSelectSpan }: TraceSamplingProps & { group: SamplingRuleGroup }) {
  return (
    <tbody data-rule={group.rule}>
      {group.matches.map((match, index) => (
        <tr key={match.spanId} data-testid="sampling-rule-row" data-rule={group.rule} data-span-id={match.spanId}>
          {index === 0 && (
            <th scope="rowgroup" rowSpan={group.matches.length} class="sampling-rule-name">
              <span class="mono">{group.rule}</span>
              <span class="muted sampling-rule-count">
                {formatSpanCount(group.spanCount)}
                {group.rateLimitedCount > 0 && `, ${group.rateLimitedCount} rate limited`}
              </span>
            </th>
          )}
          <td>
            <ServiceBadge name={match.service} />
          </td>
          <td>{match.operation}</td>
          <td>
            {hasSpan(match.spanId) ? (
              <Link
                class="mono"
                href={urlWith(`/trace/${traceId}`, { span: match.spanId })}
                title="Select this span in the waterfall"
                data-testid="sampling-span-link"
                onClick={(event) => {
                  // A plain click selects in place (the URL follows the selection); any other
                  // click is the link's own (new tab, copy).
                  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
                  event.preventDefault();
                  onSelectSpan(match.spanId);
                }}
              >
                {match.spanId}
              </Link>
            ) : (
              <span class="mono muted" title="This span is not in the trace as loaded">
                {match.spanId}
              </span>
            )}
            {match.rateLimited && (
              <span class="row-flag sampling-flag" title="The rule has a rate limit, so this match may not have kept the trace">
                rate limited
              </span>
            )}
          </td>
        </tr>
      ))}
    </tbody>
  );
}
