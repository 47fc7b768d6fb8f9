import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { InsufficientScopeError, InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { after, before, type SdkV1MigrationOptions } from '../../examples/migrate-from-sdk-v1-resource-server';
import { migrationSuite, type MigrationOptions } from './migration-suite';

/** The example takes the metadata typed as the SDK types it; the suite fetched it as JSON. */
const typed = (options: MigrationOptions): SdkV1MigrationOptions => ({ ...options, oauthMetadata: options.oauthMetadata as unknown as OAuthMetadata });

describe('migrating from the SDK v1 requireBearerAuth + mcpAuthMetadataRouter (examples/migrate-from-sdk-v1-resource-server.ts)', () => {
  migrationSuite({
    before: (options) => before(typed(options)),
    after: (options) => after(typed(options)),
    invalidToken: () => new InvalidTokenError('Invalid token'),
    serverError: () => new ServerError('the session store is down'),
    insufficientScope: () => new InsufficientScopeError('Insufficient scope'),
    async whoami(url, token) {
      const client = new Client({ name: 'migration-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
      try {
        const result = await client.callTool({ name: 'whoami', arguments: {} });
        return JSON.parse((result.content as Array<{ text: string }>)[0].text);
      } finally {
        await client.close();
      }
    },
  });
});
