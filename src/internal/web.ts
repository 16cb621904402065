/**
 * Web-platform globals that every runtime turnout supports (browsers, workers, edge runtimes, Node ≥ 20) provides,
 * typed minimally so that the core compiles without DOM or Node type libraries.
 */

interface SearchParamsLike {
  get(name: string): string | null;
}
interface UrlLike {
  readonly protocol: string;
}

const web = globalThis as unknown as {
  readonly URLSearchParams: new (init: string) => SearchParamsLike;
  readonly URL: new (input: string) => UrlLike;
};

/** Reads one parameter from a query string (without the leading `?`). */
export function queryParam(search: string, name: string): string | undefined {
  return new web.URLSearchParams(search).get(name) ?? undefined;
}

/** The protocol of an absolute URL (`"https:"`), or `undefined` when `text` does not parse. */
export function urlProtocol(text: string): string | undefined {
  try {
    return new web.URL(text).protocol;
  } catch {
    return undefined;
  }
}
