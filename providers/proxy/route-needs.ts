import type { ContractName } from "../../components/contract";
import type { ProviderNeed } from "../../components/provider";
import { ProxyRoute } from "./contract";

export const hasAuth = (requests: Record<string, ProxyRoute>) =>
  Object.values(requests).some((r) => r.auth !== "none");

/**
 * What every proxy provider asks of the other contracts for its routes: a certificate per
 * route from `ssl` (requested as `<provider>:<requester>`), and the SSO's forward-auth facts,
 * read only when some route asks for auth.
 */
export function routeNeeds(provider: string) {
  const certRequester = (requester: string) => `${provider}:${requester}`;
  return {
    certRequester,
    needs: (_settings: unknown, _stack: unknown, requests: Record<string, ProxyRoute>) =>
      Object.entries(requests).map(([requester, route]): ProviderNeed => ({
        contract: "ssl",
        requester: certRequester(requester),
        request: { domain: route.host, sans: [] },
      })),
    reads: (
      _settings: unknown,
      _stack: unknown,
      requests: Record<string, ProxyRoute> | undefined,
    ): ContractName[] => (hasAuth(requests ?? {}) ? ["sso"] : []),
  };
}
