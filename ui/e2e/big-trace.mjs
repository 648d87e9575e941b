// A synthetic trace of any size for the trace page's scale test and benchmark, sent to Weft
// over OTLP/HTTP JSON like any SDK would. The shape is seeded and realistic enough: ten
// services, fan-out and depth varying (up to ~40 levels), children inside their parents' time.

function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = ['edge', 'gateway', 'orders', 'catalog', 'pricing', 'stock', 'payments', 'ledger', 'search', 'mailer'];
const hex = (random, digits) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');

/** The spans of one trace: `{ traceId, spans: [{ service, span }] }` with OTLP/JSON spans. */
export function buildBigTrace({ spanCount, seed = 42, endUnixNanos = BigInt(Date.now()) * 1_000_000n }) {
  const random = seededRandom(seed);
  const traceId = hex(random, 32);
  const durationNanos = 30_000_000_000; // 30 s batch job
  const traceStart = endUnixNanos - BigInt(durationNanos) - 5_000_000_000n;
  const nodes = [{ id: hex(random, 16), parent: null, start: 0, end: durationNanos, depth: 0, service: 0 }];
  for (let index = 1; index < spanCount; index += 1) {
    // Mostly attach near the newest spans (depth), sometimes to an early one (breadth).
    const pick = random() < 0.7 ? nodes.length - 1 - Math.floor(random() * Math.min(nodes.length, 8)) : Math.floor(random() * nodes.length);
    let parent = nodes[pick];
    while (parent.depth >= 40) parent = nodes[Math.floor(random() * Math.min(nodes.length, 50))];
    const room = parent.end - parent.start;
    const start = parent.start + Math.floor(random() * room * 0.9);
    const end = Math.min(parent.end, start + Math.max(1_000, Math.floor((parent.end - start) * random() * 0.8)));
    const service = random() < 0.6 ? parent.service : Math.floor(random() * SERVICES.length);
    nodes.push({ id: hex(random, 16), parent: parent.id, start, end, depth: parent.depth + 1, service });
  }
  const spans = nodes.map((node, index) => ({
    service: SERVICES[node.service],
    span: {
      traceId,
      spanId: node.id,
      parentSpanId: node.parent ?? '',
      name: `${['load', 'transform', 'query', 'call', 'write'][index % 5]} item-${index}`,
      kind: node.parent === null ? 2 : 1 + (index % 3),
      startTimeUnixNano: String(traceStart + BigInt(node.start)),
      endTimeUnixNano: String(traceStart + BigInt(node.end)),
      attributes: [
        { key: 'item.index', value: { intValue: String(index) } },
        { key: 'batch.id', value: { stringValue: `batch-${seed}` } },
      ],
      status: index % 997 === 0 ? { code: 2, message: `item ${index} failed` } : {},
    },
  }));
  return { traceId, spans };
}

/** Sends `trace` in requests of `chunk` spans; resolves when every request was acknowledged. */
export async function sendTrace(weft, trace, { chunk = 4_000 } = {}) {
  for (let offset = 0; offset < trace.spans.length; offset += chunk) {
    const byService = new Map();
    for (const { service, span } of trace.spans.slice(offset, offset + chunk)) {
      if (!byService.has(service)) byService.set(service, []);
      byService.get(service).push(span);
    }
    const body = {
      resourceSpans: [...byService].map(([service, spans]) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'weft-ui-e2e' }, spans }],
      })),
    };
    const response = await fetch(`${weft.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`OTLP export answered ${response.status}: ${await response.text()}`);
  }
}
