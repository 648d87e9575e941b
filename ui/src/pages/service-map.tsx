export function ServiceMapPage({ search }: { search: URLSearchParams }) {
  void search;
  return <h1>ServiceMapPage</h1>;
}
