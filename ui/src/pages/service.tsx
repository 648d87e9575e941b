export function ServicesPage({ search }: { search: URLSearchParams }) {
  void search;
  return <h1>Services</h1>;
}

export function ServicePage({ service, search }: { service: string; search: URLSearchParams }) {
  void search;
  return <h1>Service {service}</h1>;
}
