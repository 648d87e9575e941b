export function SearchPage({ search }: { search: URLSearchParams }) {
  void search;
  return <h1>SearchPage</h1>;
}
