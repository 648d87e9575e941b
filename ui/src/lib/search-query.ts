// The search page's pure logic: the form's state as the URL carries it (the API's own parameter
// names, so a URL is also a ready API query), Go duration checks that match the server's parser,
// the result table's sorting, trace-ID lookup and the scatter plot's scales. Unit-tested.
import type { SearchParams, TraceSummary } from '../api';
import { parseGoDuration } from './go-duration';
import type { SortState } from './metrics-view';
import { DEFAULT_TIME_RANGE, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from './time-range';

// ---- form state ⇄ URL ----------------------------------------------------------------------

export interface AttributeFilter {
  key: string;
  value: string;
}

export type StatusFilter = '' | 'error' | 'ok' | 'unset';

export const STATUS_OPTIONS: readonly { value: StatusFilter; label: string }[] = [
  { value: '', label: 'Any status' },
  { value: 'error', label: 'Error' },
  { value: 'ok', label: 'OK' },
  { value: 'unset', label: 'Unset' },
];

/**
 * API conditions the form has no field for; a link from another view may carry them, and the
 * page keeps them (and shows them, removable) instead of silently dropping them.
 */
export const PASS_THROUGH_PARAMETERS = ['spanKind', 'rootService', 'rootOperation', 'traceIdPrefix'] as const;
export type PassThroughParameter = (typeof PASS_THROUGH_PARAMETERS)[number];

export interface SearchForm {
  service: string;
  operation: string;
  attributes: AttributeFilter[];
  businessKey: string;
  status: StatusFilter;
  minDuration: string;
  maxDuration: string;
  timeRange: TimeRange;
  /** Text, as typed; checked by `validateSearchForm`. */
  limit: string;
  extra: { name: PassThroughParameter; value: string }[];
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1000;

export function defaultSearchForm(): SearchForm {
  return {
    service: '',
    operation: '',
    attributes: [],
    businessKey: '',
    status: '',
    minDuration: '',
    maxDuration: '',
    timeRange: DEFAULT_TIME_RANGE,
    limit: String(DEFAULT_LIMIT),
    extra: [],
  };
}

/** `key=value` split at the first `=`, so values may contain `=` themselves. */
export function parseAttributeFilter(text: string): AttributeFilter {
  const index = text.indexOf('=');
  return index < 0 ? { key: text, value: '' } : { key: text.slice(0, index), value: text.slice(index + 1) };
}

/** The form a URL's query describes; absent parameters take the defaults (last hour, 20). */
export function formFromQuery(search: URLSearchParams): SearchForm {
  const form = defaultSearchForm();
  form.service = search.get('service') ?? '';
  form.operation = search.get('operation') ?? '';
  form.attributes = [...search.getAll('attribute'), ...search.getAll('attr')]
    .filter((text) => text !== '')
    .map(parseAttributeFilter);
  form.businessKey = search.get('businessKey') ?? '';
  const status = search.get('status');
  if (status === 'error' || status === 'ok' || status === 'unset') form.status = status;
  else if (search.get('error') === 'true') form.status = 'error';
  form.minDuration = search.get('minDuration') ?? '';
  form.maxDuration = search.get('maxDuration') ?? '';
  form.timeRange = timeRangeFromQuery(search);
  form.limit = search.get('limit') ?? String(DEFAULT_LIMIT);
  for (const name of PASS_THROUGH_PARAMETERS) {
    const value = search.get(name);
    if (value) form.extra.push({ name, value });
  }
  return form;
}

function attributeTexts(form: SearchForm): string[] {
  return form.attributes
    .map((filter) => ({ key: filter.key.trim(), value: filter.value.trim() }))
    .filter((filter) => filter.key !== '')
    .map((filter) => `${filter.key}=${filter.value}`);
}

/**
 * The URL query of a form, in the API's own names. The time range and the limit are always
 * written so a shared link means the same search for everyone.
 */
export function formToQuery(form: SearchForm): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  const put = (name: string, value: string) => {
    const trimmed = value.trim();
    if (trimmed !== '') query[name] = trimmed;
  };
  put('service', form.service);
  put('operation', form.operation);
  const attributes = attributeTexts(form);
  if (attributes.length > 0) query.attribute = attributes;
  put('businessKey', form.businessKey);
  put('status', form.status);
  put('minDuration', form.minDuration);
  put('maxDuration', form.maxDuration);
  for (const [name, value] of Object.entries(timeRangeToQuery(form.timeRange))) {
    if (value !== undefined) put(name, value);
  }
  put('limit', form.limit);
  for (const { name, value } of form.extra) put(name, value);
  return query;
}

/** The API request of a form. Values are passed as typed: the server's message names a bad one. */
export function formToApiParams(form: SearchForm): SearchParams {
  const params: SearchParams = {};
  const query = formToQuery(form);
  for (const [name, value] of Object.entries(query)) {
    if (name === 'attribute') {
      params.attribute = typeof value === 'string' ? [value] : value;
    } else if (name === 'limit') {
      // A number when it is one; otherwise the text, so the server explains what is wrong.
      const text = typeof value === 'string' ? value : (value[0] ?? '');
      (params as Record<string, unknown>).limit = /^\d+$/.test(text) ? Number(text) : text;
    } else {
      (params as Record<string, unknown>)[name] = typeof value === 'string' ? value : value[0];
    }
  }
  return params;
}

/** Whether the form narrows the search beyond the time range and the limit. */
export function hasConditions(form: SearchForm): boolean {
  return (
    form.service.trim() !== '' ||
    form.operation.trim() !== '' ||
    attributeTexts(form).length > 0 ||
    form.businessKey.trim() !== '' ||
    form.status !== '' ||
    form.minDuration.trim() !== '' ||
    form.maxDuration.trim() !== '' ||
    form.extra.length > 0
  );
}

// ---- validation ----------------------------------------------------------------------------

export { type DurationParse, parseGoDuration } from './go-duration';

export interface SearchFormErrors {
  minDuration?: string;
  maxDuration?: string;
  limit?: string;
  /** Per attribute row index. */
  attributes?: Record<number, string>;
}

/** What is wrong with a form, by field; an empty object when it can be searched. */
export function validateSearchForm(form: SearchForm): SearchFormErrors {
  const errors: SearchFormErrors = {};
  let min: number | null = null;
  let max: number | null = null;
  if (form.minDuration.trim() !== '') {
    const parsed = parseGoDuration(form.minDuration);
    if (parsed.ok) min = parsed.nanos;
    else errors.minDuration = parsed.error;
  }
  if (form.maxDuration.trim() !== '') {
    const parsed = parseGoDuration(form.maxDuration);
    if (parsed.ok) max = parsed.nanos;
    else errors.maxDuration = parsed.error;
  }
  if (min !== null && max !== null && min > max) {
    errors.maxDuration = 'the max duration is smaller than the min duration';
  }
  const limit = form.limit.trim();
  if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
    errors.limit = `the limit is a whole number from 1 to ${MAX_LIMIT}`;
  }
  form.attributes.forEach((filter, index) => {
    if (filter.key.trim() === '' && filter.value.trim() !== '') {
      errors.attributes = { ...errors.attributes, [index]: 'enter the attribute key for this value' };
    } else if (filter.key.trim() !== '' && filter.value.trim() === '') {
      errors.attributes = { ...errors.attributes, [index]: 'enter a value: attributes match exact values' };
    } else if (filter.key.includes('=')) {
      errors.attributes = { ...errors.attributes, [index]: 'an attribute key cannot contain "="' };
    }
  });
  return errors;
}

export function hasErrors(errors: SearchFormErrors): boolean {
  return Object.keys(errors).length > 0;
}

// ---- trace ID lookup -----------------------------------------------------------------------

export { normaliseTraceId } from './trace-id';

// ---- results -------------------------------------------------------------------------------

export type SortKey = 'start' | 'duration' | 'spans' | 'errors';

/** Newest first. Header clicks go through the app's shared sort state (`nextSort`). */
export const DEFAULT_SORT: SortState<SortKey> = { key: 'start', direction: 'desc' };

/** Start of a trace as a BigInt of Unix nanoseconds (the API sends it as a string). */
function startNanos(trace: TraceSummary): bigint {
  try {
    return BigInt(trace.startTimeUnixNano);
  } catch {
    return 0n;
  }
}

/** Start of a trace in Unix milliseconds. */
export function startMillis(trace: TraceSummary): number {
  return Number(startNanos(trace) / 1_000_000n);
}

function compareBy(a: TraceSummary, b: TraceSummary, key: SortKey): number {
  switch (key) {
    case 'start': {
      const left = startNanos(a);
      const right = startNanos(b);
      return left < right ? -1 : left > right ? 1 : 0;
    }
    case 'duration':
      return a.durationNanos - b.durationNanos;
    case 'spans':
      return a.spanCount - b.spanCount;
    case 'errors':
      return a.errorCount - b.errorCount;
  }
}

/**
 * The traces in `sort` order; ties fall back to newest first, then trace ID, so the order is
 * stable across reloads. The input is not changed.
 */
export function sortTraces(traces: readonly TraceSummary[], sort: SortState<SortKey>): TraceSummary[] {
  const sign = sort.direction === 'asc' ? 1 : -1;
  return [...traces].sort(
    (a, b) =>
      sign * compareBy(a, b, sort.key) ||
      -compareBy(a, b, 'start') ||
      (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0),
  );
}

/** "20 traces", "1 trace". */
export function countLabel(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : plural}`;
}

// ---- scatter plot scales -------------------------------------------------------------------

/** 1, 2 or 5 times a power of ten, at least `rough`. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough * (1 - 1e-9)) return factor * power;
  }
  return 10 * power;
}

export interface LinearScale {
  max: number;
  ticks: number[];
}

/** A 0-based linear axis up to at least `maxValue` with about `targetTicks` round ticks. */
export function linearScale(maxValue: number, targetTicks = 5): LinearScale {
  const top = maxValue > 0 ? maxValue : 1;
  const step = niceStep(top / targetTicks);
  const max = Math.ceil((top * 1.0001) / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= max + step / 2; tick += step) ticks.push(Math.round(tick));
  return { max, ticks };
}

export interface LogScale {
  min: number;
  max: number;
  ticks: number[];
}

/** A log axis over whole decades covering `[minValue, maxValue]` (both clamped to ≥ 1). */
export function logScale(minValue: number, maxValue: number): LogScale {
  const low = Math.max(1, Math.min(minValue, maxValue));
  const high = Math.max(low, maxValue, 1);
  let lowPower = Math.floor(Math.log10(low));
  let highPower = Math.ceil(Math.log10(high));
  if (highPower <= lowPower) highPower = lowPower + 1;
  if (lowPower < 0) lowPower = 0;
  const ticks: number[] = [];
  const decades = highPower - lowPower;
  for (let power = lowPower; power <= highPower; power += 1) {
    ticks.push(10 ** power);
    // Few decades: 2× and 5× ticks too, so the axis is not just two labels.
    if (decades <= 2 && power < highPower) ticks.push(2 * 10 ** power, 5 * 10 ** power);
  }
  return { min: 10 ** lowPower, max: 10 ** highPower, ticks };
}

const TIME_STEPS_MILLIS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

export interface TimeAxis {
  step: number;
  ticks: number[];
}

/**
 * Round local-time ticks within `[startMillis, endMillis]`, about `targetTicks` of them.
 * `offsetMinutes` is the local zone's offset east of UTC (e.g. +60 for CET) so hour and day
 * ticks fall on local hours and midnights.
 */
export function timeTicks(startMillis: number, endMillis: number, targetTicks = 6, offsetMinutes = 0): TimeAxis {
  const span = Math.max(1, endMillis - startMillis);
  const step = TIME_STEPS_MILLIS.find((candidate) => span / candidate <= targetTicks) ?? TIME_STEPS_MILLIS[TIME_STEPS_MILLIS.length - 1]!;
  const offset = offsetMinutes * 60_000;
  const ticks: number[] = [];
  for (let tick = Math.ceil((startMillis + offset) / step) * step - offset; tick <= endMillis; tick += step) {
    ticks.push(tick);
  }
  return { step, ticks };
}

/** A tick label with the precision its step needs: `14:05:30.250`, `14:05:30`, `14:05`, `Nov 21`. */
export function formatTimeTick(millis: number, step: number): string {
  const date = new Date(millis);
  const two = (value: number) => String(value).padStart(2, '0');
  const clock = `${two(date.getHours())}:${two(date.getMinutes())}`;
  if (step >= 86_400_000) {
    return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
  }
  if (step >= 60_000) return clock;
  if (step >= 1_000) return `${clock}:${two(date.getSeconds())}`;
  return `${clock}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
