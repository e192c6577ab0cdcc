/**
 * @module test/helpers/sso-node
 * The single sign-on tests' setup, written once: a real OpenID provider (helpers/oidc-provider.ts) and a real kai
 * node configured with it as the provider `corp` ("Corp account"), the client secret put in the node's vault through
 * the API (as an operator would). The provider's port is taken first: the node's config names the issuer before
 * the provider starts, and the provider needs the node's callback URL. The auth tier's rate limit is raised: the
 * tests sign in many times from one address in a minute, and that limit is another test's subject.
 */
import type { z } from "zod";
import type { SsoProviderSchema } from "../../src/config/sso-config.js";
import { startTestServer, type TestServer } from "./test-server.js";
import { reserveOidcProvider, type TestAccount, type TestOidcProvider } from "./oidc-provider.js";

/** The provider's id in the node's config, hence in its routes (`/api/auth/sso/corp/…`). */
export const SSO_PROVIDER_ID = "corp";

/** What a test file says about its provider beyond what every SSO test shares (claims, role mapping, …). */
type ProviderSettings = Omit<z.input<typeof SsoProviderSchema>, "id" | "displayName" | "issuer" | "clientId" | "clientSecret">;

export interface SsoNodeOptions {
  /** The client registered at the provider (and named in the node's config). */
  clientId: string;
  /** The vault name under which the node finds the client secret. */
  secretName: string;
  /** The provider's test accounts by id (= `sub`). */
  accounts: Record<string, TestAccount>;
  provider?: ProviderSettings;
}

export interface SsoNode {
  kai: TestServer;
  op: TestOidcProvider;
  /** Stops both (in afterAll). */
  close(): Promise<void>;
}

/** Starts the provider and the node, wired to each other; resolves once the node holds the client secret. */
export async function startSsoNode(options: SsoNodeOptions): Promise<SsoNode> {
  const reserved = await reserveOidcProvider();
  const kai = await startTestServer({
    config: {
      rateLimit: { auth: { max: 10_000 }, global: { max: 100_000 } },
      auth: {
        sso: {
          providers: [
            {
              id: SSO_PROVIDER_ID,
              displayName: "Corp account",
              issuer: reserved.issuer,
              clientId: options.clientId,
              clientSecret: { vault: options.secretName },
              ...options.provider,
            },
          ],
        },
      },
    },
  }).catch(async (error: unknown) => {
    await reserved.close();
    throw error;
  });
  let op: TestOidcProvider | undefined;
  try {
    op = reserved.start({
      clientId: options.clientId,
      redirectUris: [`${kai.url}/api/auth/sso/${SSO_PROVIDER_ID}/callback`],
      accounts: options.accounts,
    });
    const put = await kai.request(`/api/vault/secrets/${options.secretName}`, { method: "PUT", json: { value: op.clientSecret } });
    if (put.status >= 300) throw new Error(`putting the client secret in the vault: ${put.status} ${await put.text()}`);
  } catch (error) {
    await kai.dispose();
    await reserved.close();
    throw error;
  }
  const provider = op;
  return {
    kai,
    op: provider,
    async close() {
      await kai.dispose();
      await provider.close();
    },
  };
}
