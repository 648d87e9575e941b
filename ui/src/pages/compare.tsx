export function ComparePage({ search }: { search: URLSearchParams }) {
  void search;
  return <h1>ComparePage</h1>;
}
