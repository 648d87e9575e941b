// The shell: header navigation and the route table. Each page owns its URL query.
import { useEffect, useRef } from 'preact/hooks';
import { Link, navigate, useLocation } from './router';
import { ComparePage } from './pages/compare';
import { DatabasePage } from './pages/database';
import { DiagnosticsPage } from './pages/diagnostics';
import { LogsPage } from './pages/logs';
import { RedisPage } from './pages/redis';
import { SearchPage } from './pages/search';
import { ServiceMapPage } from './pages/service-map';
import { ServicePage, ServicesPage } from './pages/service';
import { TracePage } from './pages/trace';
import { EmptyState } from './components/common';

/** A path segment decoded, or null when it is not valid percent-encoding (`/trace/%E0`). */
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The document title of a route, so history entries and screen readers name the view. */
function titleOf(path: string): string {
  if (path.startsWith('/trace/')) return `Trace ${decodeSegment(path.slice('/trace/'.length)) ?? ''}`;
  if (path.startsWith('/services/')) return `${decodeSegment(path.slice('/services/'.length)) ?? ''} · Services`;
  if (path === '/logs') return 'Logs';
  if (path === '/compare') return 'Compare traces';
  if (path === '/map') return 'Service map';
  if (path === '/services') return 'Services';
  if (path === '/diagnostics') return 'Diagnostics';
  if (path === '/database') return 'Database';
  if (path === '/redis') return 'Redis';
  return 'Search';
}

const NAV_ITEMS = [
  { href: '/search', label: 'Search', matches: (path: string) => path === '/search' || path.startsWith('/trace/') },
  { href: '/logs', label: 'Logs', matches: (path: string) => path === '/logs' },
  { href: '/compare', label: 'Compare', matches: (path: string) => path === '/compare' },
  { href: '/map', label: 'Service map', matches: (path: string) => path === '/map' },
  { href: '/services', label: 'Services', matches: (path: string) => path.startsWith('/services') },
  { href: '/diagnostics', label: 'Diagnostics', matches: (path: string) => path === '/diagnostics' },
  { href: '/database', label: 'Database', matches: (path: string) => path === '/database' },
  { href: '/redis', label: 'Redis', matches: (path: string) => path === '/redis' },
];

export function App() {
  const location = useLocation();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const mainRef = useRef<HTMLElement>(null);
  /** The path the page was loaded at, until the first in-app navigation. */
  const loadedPath = useRef<string | null>(path);
  useEffect(() => {
    if (path === '/') navigate('/search', { replace: true });
    document.title = `${titleOf(path)} · Weft`;
    // After an in-app navigation, move focus to the new view (as a page load would), so
    // keyboard and screen reader users start at its top instead of on a stale link.
    if (path !== loadedPath.current) {
      loadedPath.current = null;
      mainRef.current?.focus({ preventScroll: true });
    }
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
      <main id="main" tabIndex={-1} ref={mainRef}>
        <Route path={path} search={location.search} />
      </main>
    </div>
  );
}

function Route({ path, search }: { path: string; search: URLSearchParams }) {
  if (path === '/' || path === '/search') return <SearchPage search={search} />;
  const traceId = path.startsWith('/trace/') ? decodeSegment(path.slice('/trace/'.length)) : null;
  if (traceId !== null) return <TracePage traceId={traceId} search={search} />;
  if (path === '/logs') return <LogsPage search={search} />;
  if (path === '/compare') return <ComparePage search={search} />;
  if (path === '/map') return <ServiceMapPage search={search} />;
  if (path === '/services') return <ServicesPage search={search} />;
  if (path === '/diagnostics') return <DiagnosticsPage search={search} />;
  if (path === '/database') return <DatabasePage search={search} />;
  if (path === '/redis') return <RedisPage search={search} />;
  const service = path.startsWith('/services/') ? decodeSegment(path.slice('/services/'.length)) : null;
  if (service !== null) return <ServicePage service={service} search={search} />;
  return (
    <EmptyState title="No such page" testId="not-found">
      <p>
        There is nothing at <code>{path}</code>. Go to <Link href="/search">Search</Link> or the <Link href="/map">service map</Link>.
      </p>
    </EmptyState>
  );
}
