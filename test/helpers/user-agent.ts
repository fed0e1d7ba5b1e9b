/**
 * A minimal browser for protocol tests without Chromium: a cookie jar, manual redirects, and form
 * reading. Real HTTP on loopback; the pages themselves are exercised in Chromium elsewhere.
 */
export interface Step {
  status: number;
  url: string;
  location: string | undefined;
  body: string;
  headers: Headers;
}

export class UserAgent {
  private readonly jar = new Map<string, string>();

  /** `headers` go with every request (e.g. X-Forwarded-For as a trusted proxy would send it). */
  constructor(private readonly headers: Record<string, string> = {}) {}

  /** A cookie's current value, if the browser holds it. */
  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  /** The Cookie header this browser sends (the bench replays it from a load generator). */
  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Step> {
    const headers: Record<string, string> = { accept: 'text/html', ...this.headers, ...init.headers };
    if (this.jar.size > 0) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    this.store(res.headers);
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url, location: location ? new URL(location, url).href : undefined, body: await res.text(), headers: res.headers };
  }

  /** Follows redirects until a page, or until a URL starting with `stopAt` (the app's callback). */
  async follow(url: string, stopAt?: string, init?: Parameters<UserAgent['request']>[1]): Promise<Step> {
    let step = await this.request(url, init);
    for (let hops = 0; step.location && hops < 20; hops++) {
      if (stopAt && step.location.startsWith(stopAt)) return step;
      step = await this.request(step.location);
    }
    return step;
  }
}

export function hiddenField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name} in page: ${html.slice(0, 300)}`);
  return m[1]!.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
}

export function formAction(html: string, pathEnd: string): string {
  const m = new RegExp(`action="([^"]*${pathEnd})"`).exec(html);
  if (!m) throw new Error(`no form posting to …${pathEnd}`);
  return m[1]!;
}
