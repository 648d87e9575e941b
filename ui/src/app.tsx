// The shell: header navigation and the route table. Each page owns its URL query.
import { useEffect } from 'preact/hooks';
import { Link, navigate, useLocation } from './router';
import { ComparePage } from './pages/compare';
import { SearchPage } from './pages/search';
import { ServiceMapPage } from './pages/service-map';
import { ServicePage, ServicesPage } from './pages/service';
import { TracePage } from './pages/trace';
import { EmptyState } from './components/common';

const NAV_ITEMS = [
  { href: '/search', label: 'Search', matches: (path: string) => path === '/search' || path.startsWith('/trace/') },
  { href: '/compare', label: 'Compare', matches: (path: string) => path === '/compare' },
  { href: '/map', label: 'Service map', matches: (path: string) => path === '/map' },
  { href: '/services', label: 'Services', matches: (path: string) => path.startsWith('/services') },
];

export function App() {
  const location = useLocation();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  useEffect(() => {
    if (path === '/') navigate('/search', { replace: true });
  }, [path]);
  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-header">
        <Link href="/search" class="brand" aria-label="Weft home">
          Weft
        </Link>
        <nav aria-label="Main">
          {NAV_ITEMS.map((item) => (
            <Link key={item.href} href={item.href} class="nav-link" aria-current={item.matches(path) ? 'page' : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} search={location.search} />
      </main>
    </div>
  );
}

function Route({ path, search }: { path: string; search: URLSearchParams }) {
  if (path === '/' || path === '/search') return <SearchPage search={search} />;
  if (path.startsWith('/trace/')) return <TracePage traceId={decodeURIComponent(path.slice('/trace/'.length))} search={search} />;
  if (path === '/compare') return <ComparePage search={search} />;
  if (path === '/map') return <ServiceMapPage search={search} />;
  if (path === '/services') return <ServicesPage search={search} />;
  if (path.startsWith('/services/')) return <ServicePage service={decodeURIComponent(path.slice('/services/'.length))} search={search} />;
  return (
    <EmptyState title="No such page" testId="not-found">
      <p>
        There is nothing at <code>{path}</code>. Go to <Link href="/search">Search</Link> or the <Link href="/map">service map</Link>.
      </p>
    </EmptyState>
  );
}
