import type Provider from 'oidc-provider';

/**
 * Holds the live protocol engine. A key change builds a new engine and swaps it in; requests already
 * inside the old one finish there, new requests go to the new one.
 */
export interface ProviderHost {
  current(): Provider;
  swap(next: Provider): void;
}

export function createProviderHost(initial: Provider): ProviderHost {
  let live = initial;
  return {
    current: () => live,
    swap(next) {
      live = next;
    },
  };
}
