// A small History API router: the server answers every UI path with index.html, and the page
// reads `location` itself. Query state lives in the URL so any view can be shared by link.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const LOCATION_CHANGED = 'weft:locationchange';

export interface AppLocation {
  pathname: string;
  search: URLSearchParams;
}

function readLocation(): AppLocation {
  return { pathname: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

/** Go to `url` (path and query) without reloading; `replace` keeps the history entry. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) {
    window.history.replaceState(null, '', url);
  } else {
    window.history.pushState(null, '', url);
  }
  window.dispatchEvent(new Event(LOCATION_CHANGED));
  if (!options.replace) {
    window.scrollTo(0, 0);
  }
}

/** The current location; re-renders on navigation and on back/forward. */
export function useLocation(): AppLocation {
  const [location, setLocation] = useState(readLocation);
  useEffect(() => {
    const update = () => setLocation(readLocation());
    window.addEventListener('popstate', update);
    window.addEventListener(LOCATION_CHANGED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(LOCATION_CHANGED, update);
    };
  }, []);
  return location;
}

/** `path?query` from a path and parameters; empty values are left out. */
export function urlWith(path: string, params: Record<string, string | readonly string[] | undefined | null>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const values = typeof value === 'string' ? [value] : value;
    for (const item of values) {
      if (item !== '') query.append(key, item);
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

interface LinkProps {
  href: string;
  children?: ComponentChildren;
  class?: string | undefined;
  title?: string | undefined;
  'aria-label'?: string | undefined;
  'aria-current'?: 'page' | undefined;
  'data-testid'?: string | undefined;
  onClick?: ((event: MouseEvent) => void) | undefined;
}

/** An anchor that navigates in-app on a plain click and behaves as a link otherwise (new tab, copy). */
export function Link({ href, onClick, children, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={href}
      onClick={(event) => {
        onClick?.(event);
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
          return;
        }
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
