// Go durations (`250ms`, `1.5s`, `2h45m`) as Weft's API reads them in query parameters: the one
// parser every view uses, so the UI refuses exactly what the server would.

export type DurationParse = { ok: true; nanos: number } | { ok: false; error: string };

const NANOS_PER_UNIT: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3,
  '\u03bcs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const DURATION_EXAMPLES = 'like 250ms, 1.5s or 2m';

/**
 * A Go duration (`250ms`, `1.5s`, `2h45m`, `300us`), read as the server reads it: numbers
 * each followed by a unit (ns, us, µs, ms, s, m, h); a bare `0` is allowed, other bare numbers
 * are not because their unit would be a guess.
 */
export function parseGoDuration(text: string): DurationParse {
  let rest = text.trim();
  if (rest === '') return { ok: false, error: 'empty duration' };
  if (rest === '0') return { ok: true, nanos: 0 };
  let total = 0;
  while (rest !== '') {
    const number = /^[0-9.]+/.exec(rest)?.[0];
    if (number === undefined) {
      return { ok: false, error: `"${text.trim()}" is not a duration: expected a number and a unit, ${DURATION_EXAMPLES}` };
    }
    const value = Number(number);
    if (!/\d/.test(number) || Number.isNaN(value)) {
      return { ok: false, error: `"${number}" is not a number; write a duration ${DURATION_EXAMPLES}` };
    }
    rest = rest.slice(number.length);
    const unit = /^[^0-9.]*/.exec(rest)?.[0] ?? '';
    if (unit === '') {
      return { ok: false, error: `"${text.trim()}" needs a unit (ns, us, ms, s, m or h), ${DURATION_EXAMPLES}` };
    }
    const perUnit = NANOS_PER_UNIT[unit];
    if (perUnit === undefined) {
      return { ok: false, error: `unknown unit "${unit}" in "${text.trim()}" (use ns, us, ms, s, m or h)` };
    }
    total += value * perUnit;
    rest = rest.slice(unit.length);
  }
  return { ok: true, nanos: Math.round(total) };
}
