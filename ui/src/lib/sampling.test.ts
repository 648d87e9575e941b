import { describe, expect, it } from 'vitest';
import type { SamplingRuleMatch } from '../api';
import {
  describeColdWriter,
  describeDecision,
  describeDefaultShare,
  describeShardState,
  formatShardWindow,
  formatSharePercent,
  formatSpanCount,
  groupRulesByName,
} from './sampling';

function match(rule: string, spanId: string, overrides: Partial<SamplingRuleMatch> = {}): SamplingRuleMatch {
  return { rule, spanId, service: 'payment-service', operation: 'POST /charge', rateLimited: false, ...overrides };
}

/** Unix seconds of a local date and time. */
function localSeconds(...parts: [number, number, number, number, number, number]): number {
  return new Date(...parts).getTime() / 1000;
}

describe('describeDecision', () => {
  it.each([
    ['kept', 'Kept', 'success'],
    ['not_kept', 'Not kept', 'muted'],
    ['pending', 'Pending', 'warning'],
    ['unknown', 'Unknown', 'muted'],
  ] as const)('shows %s as "%s" in the %s tone', (decision, label, tone) => {
    const shown = describeDecision(decision);
    expect(shown.label).toBe(label);
    expect(shown.tone).toBe(tone);
    expect(shown.title).not.toBe('');
  });

  it('shows a decision it does not know as sent, muted, never as kept', () => {
    expect(describeDecision('kept_by_operator')).toMatchObject({ label: 'kept by operator', tone: 'muted' });
    expect(describeDecision('')).toMatchObject({ label: 'Unknown', tone: 'muted' });
    // An inherited property name is not a decision either.
    expect(describeDecision('toString')).toMatchObject({ label: 'toString', tone: 'muted' });
  });
});

describe('formatSharePercent', () => {
  it.each([
    [0.001, '0.1 %'],
    [0.00025, '0.025 %'],
    [0.05, '5 %'],
    [0.07, '7 %'],
    [0.123456, '12.3 %'],
    [1, '100 %'],
    [0, '0 %'],
    [0.000001, '0.0001 %'],
    [0.0000001, '< 0.0001 %'],
  ])('formats %d as %s', (share, expected) => {
    expect(formatSharePercent(share)).toBe(expected);
  });

  it('shows a dash for what is not a share', () => {
    for (const share of [Number.NaN, -0.1, 1.5, Infinity, null, undefined]) expect(formatSharePercent(share)).toBe('\u2014');
  });
});

describe('describeDefaultShare', () => {
  it('says whether the trace is in the random share', () => {
    expect(describeDefaultShare({ share: 0.001, inShare: false })).toBe('0.1 % random share: this trace is not in it');
    expect(describeDefaultShare({ share: 0.001, inShare: true })).toBe('0.1 % random share: this trace is in it');
  });

  it('says so when the server left it out', () => {
    expect(describeDefaultShare(null)).toMatch(/not reported/);
    expect(describeDefaultShare(undefined)).toMatch(/not reported/);
  });
});

describe('groupRulesByName', () => {
  it('groups by rule in first-appearance order and counts distinct spans', () => {
    const groups = groupRulesByName([
      match('error', 'AAAA000000000001'),
      match('slow', 'aaaa000000000002', { service: 'frontend', operation: 'POST /checkout' }),
      match('error', 'aaaa000000000003'),
      match('error', 'aaaa000000000001'),
    ]);
    expect(groups.map((group) => [group.rule, group.spanCount])).toEqual([
      ['error', 2],
      ['slow', 1],
    ]);
    // Span IDs come out lower-cased, as the waterfall and `?span=` key them.
    expect(groups[0]!.matches.map((entry) => entry.spanId)).toEqual(['aaaa000000000001', 'aaaa000000000003']);
    expect(groups[1]!.matches[0]).toMatchObject({ service: 'frontend', operation: 'POST /checkout' });
  });

  it('counts rate-limited matches, and a span listed twice is rate limited only if every listing says so', () => {
    const groups = groupRulesByName([
      match('keyword', 'b1', { rateLimited: true }),
      match('keyword', 'b2', { rateLimited: true }),
      match('keyword', 'b1', { rateLimited: false }),
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.spanCount).toBe(2);
    expect(groups[0]!.rateLimitedCount).toBe(1);
    expect(groups[0]!.matches.find((entry) => entry.spanId === 'b1')!.rateLimited).toBe(false);
  });

  it('answers nothing for no matches', () => {
    expect(groupRulesByName([])).toEqual([]);
  });
});

describe('formatSpanCount', () => {
  it.each([
    [0, '0 spans'],
    [1, '1 span'],
    [12, '12 spans'],
    [1234, '1,234 spans'],
  ])('formats %d as %s', (count, expected) => {
    expect(formatSpanCount(count)).toBe(expected);
  });
});

describe('formatShardWindow', () => {
  it('shows a window within one day with one date', () => {
    expect(formatShardWindow(localSeconds(2026, 8, 21, 14, 0, 0), localSeconds(2026, 8, 21, 14, 10, 0))).toBe(
      '2026-09-21 14:00:00 \u2013 14:10:00',
    );
  });

  it('shows both dates when the window crosses midnight', () => {
    expect(formatShardWindow(localSeconds(2026, 8, 21, 23, 55, 0), localSeconds(2026, 8, 22, 0, 5, 0))).toBe(
      '2026-09-21 23:55:00 \u2013 2026-09-22 00:05:00',
    );
  });

  it('shows a dash for bounds that are not numbers', () => {
    expect(formatShardWindow(Number.NaN, 1)).toBe('\u2014');
  });
});

describe('describeShardState', () => {
  it('labels the known states and passes others through', () => {
    expect(describeShardState('open').label).toBe('open');
    expect(describeShardState('closed').label).toBe('closed');
    expect(describeShardState('missing').label).toBe('missing');
    expect(describeShardState('open').title).toMatch(/still collecting/i);
    expect(describeShardState('compacting')).toMatchObject({ label: 'compacting' });
    expect(describeShardState('constructor')).toMatchObject({ label: 'constructor' });
  });
});

describe('describeColdWriter', () => {
  it('says how far the cold writer has copied, in local time', () => {
    expect(describeColdWriter({ passedThrough: localSeconds(2026, 8, 21, 14, 0, 0) })).toBe(
      'The cold writer has copied traces up to 2026-09-21 14:00:00.',
    );
  });

  it('says when it has not run yet', () => {
    expect(describeColdWriter({ passedThrough: null })).toMatch(/not copied/);
    expect(describeColdWriter(null)).toMatch(/not copied/);
  });
});
