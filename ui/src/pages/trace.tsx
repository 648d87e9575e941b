export function TracePage({ traceId, search }: { traceId: string; search: URLSearchParams }) {
  void search;
  return <h1>Trace {traceId}</h1>;
}
