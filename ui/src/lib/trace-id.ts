// Trace IDs as the API takes them: 1 to 32 hex digits, shorter ones left-padded with zeros
// (64-bit IDs from older tracers). One definition for every view.

const TRACE_ID = /^[0-9a-fA-F]{1,32}$/;

/** Whether `text` is a trace ID the API accepts. */
export function isTraceId(text: string): boolean {
  return TRACE_ID.test(text);
}

/**
 * The canonical 32-digit lower-case trace ID for a typed or pasted one (spaces and a `0x`
 * prefix allowed), or null when the text is not a trace ID.
 */
export function normaliseTraceId(text: string): string | null {
  const trimmed = text.trim().replace(/^0x/i, '');
  if (!isTraceId(trimmed)) return null;
  return trimmed.toLowerCase().padStart(32, '0');
}
