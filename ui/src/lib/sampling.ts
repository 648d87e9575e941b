// Pure helpers behind the trace page's "Sampling" section: the sampling explanation
// (`GET /api/v1/sampling/explain/{traceId}`) → labels, tones and short texts. No DOM here, so
// all of it is unit-tested.
import type { SamplingExplanation, SamplingRuleMatch } from '../api';
import { formatLocalDateTime, formatLocalTime } from './format';

/** How a badge is coloured: `success` is var(--ok), `warning` var(--warning), `muted` var(--text-muted). */
export type SamplingTone = 'success' | 'warning' | 'muted';

export interface DecisionPresentation {
  label: string;
  tone: SamplingTone;
  /** A longer explanation for a tooltip. */
  title: string;
}

const DECISIONS: Record<string, DecisionPresentation> = {
  kept: { label: 'Kept', tone: 'success', title: 'The cold tier keeps this trace.' },
  not_kept: { label: 'Not kept', tone: 'muted', title: 'The cold tier does not keep this trace; it lives only as long as the hot tier retains it.' },
  pending: { label: 'Pending', tone: 'warning', title: 'Not decided yet: the shard window the trace falls in is still open.' },
  unknown: { label: 'Unknown', tone: 'muted', title: 'The server cannot tell whether the cold tier keeps this trace.' },
};

/** The badge for a decision; a decision this UI does not know is shown as the server sent it, muted. */
export function describeDecision(decision: string): DecisionPresentation {
  if (Object.hasOwn(DECISIONS, decision)) return DECISIONS[decision]!;
  return { label: decision.replace(/_/g, ' ') || 'Unknown', tone: 'muted', title: `The server answered "${decision}".` };
}

/**
 * A share 0..1 as a percentage for sampling rates, which are often small: "0.1 %", "0.025 %",
 * "5 %", "100 %", "0 %", "< 0.0001 %" (up to three significant digits); "—" when it is not a
 * share.
 */
export function formatSharePercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share) || share < 0 || share > 1) return '\u2014';
  if (share === 0) return '0 %';
  // toPrecision then Number drops float noise (0.07 × 100 = 7.000000000000001, 0.000001 × 100
  // = 0.00009999…) and trailing zeros; toLocaleString avoids exponent notation.
  const rounded = Number((share * 100).toPrecision(3));
  if (rounded < 0.0001) return '< 0.0001 %';
  return `${rounded.toLocaleString('en-US', { maximumFractionDigits: 20, useGrouping: false })} %`;
}

/** "0.1 % random share: this trace is in it" (or "is not in it"). */
export function describeDefaultShare(defaultShare: SamplingExplanation['defaultShare'] | undefined): string {
  if (!defaultShare) return 'Random share: not reported by the server';
  return `${formatSharePercent(defaultShare.share)} random share: this trace ${defaultShare.inShare ? 'is' : 'is not'} in it`;
}

/** One rule and the distinct spans it holds on, in the order the server listed them. */
export interface SamplingRuleGroup {
  rule: string;
  matches: SamplingRuleMatch[];
  spanCount: number;
  /** Spans whose match is rate limited, so it may not have kept the trace. */
  rateLimitedCount: number;
}

/**
 * The matches grouped by rule (first appearance first), each span once per rule (span IDs
 * lower-cased, as the waterfall keys them). A span listed twice for one rule counts as rate
 * limited only if every listing says so.
 */
export function groupRulesByName(rules: readonly SamplingRuleMatch[]): SamplingRuleGroup[] {
  const groups = new Map<string, Map<string, SamplingRuleMatch>>();
  for (const match of rules) {
    const spanId = match.spanId.toLowerCase();
    let spans = groups.get(match.rule);
    if (!spans) {
      spans = new Map();
      groups.set(match.rule, spans);
    }
    const seen = spans.get(spanId);
    if (seen) {
      if (seen.rateLimited && !match.rateLimited) spans.set(spanId, { ...seen, rateLimited: false });
    } else {
      spans.set(spanId, { ...match, spanId });
    }
  }
  return [...groups].map(([rule, spans]) => {
    const matches = [...spans.values()];
    return { rule, matches, spanCount: matches.length, rateLimitedCount: matches.filter((match) => match.rateLimited).length };
  });
}

/** "1 span", "12 spans", "1,234 spans". */
export function formatSpanCount(count: number): string {
  if (!Number.isFinite(count)) return '\u2014 spans';
  const whole = Math.round(count);
  return `${whole.toLocaleString('en-US')} ${whole === 1 ? 'span' : 'spans'}`;
}

/**
 * A shard window given in Unix seconds, in local time: "2026-09-21 14:00:00 – 14:10:00" when it
 * ends on the day it starts, both dates otherwise; "—" when a bound is not a number.
 */
export function formatShardWindow(startSeconds: number, endSeconds: number): string {
  if (!Number.isFinite(startSeconds) || !Number.isFinite(endSeconds)) return '\u2014';
  const startMillis = startSeconds * 1000;
  const endMillis = endSeconds * 1000;
  const start = formatLocalDateTime(startMillis);
  const end = formatLocalDateTime(endMillis);
  const sameDay = start.slice(0, 10) === end.slice(0, 10);
  return `${start} \u2013 ${sameDay ? formatLocalTime(endMillis) : end}`;
}

const SHARD_STATES: Record<string, { label: string; title: string }> = {
  open: { label: 'open', title: 'Still collecting: rules mark traces in this window until it closes.' },
  closed: { label: 'closed', title: 'Closed: its marks are final and the cold writer may copy its traces.' },
  missing: { label: 'missing', title: 'This window has no shard (never written, or already removed).' },
};

/** A shard state as a short label and a tooltip; an unknown state is shown as sent. */
export function describeShardState(state: string): { label: string; title: string } {
  if (Object.hasOwn(SHARD_STATES, state)) return SHARD_STATES[state]!;
  return { label: state, title: `The server answered "${state}".` };
}

/** Where the cold writer stands, in local time. */
export function describeColdWriter(coldWriter: SamplingExplanation['coldWriter'] | undefined): string {
  const passedThrough = coldWriter?.passedThrough;
  if (passedThrough === null || passedThrough === undefined || !Number.isFinite(passedThrough)) {
    return 'The cold writer has not copied any shard window yet.';
  }
  return `The cold writer has copied traces up to ${formatLocalDateTime(passedThrough * 1000)}.`;
}
