import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { OAuthError, OAuthErrorCode, type OAuthMetadata } from '@modelcontextprotocol/server';
import { after, before, type SdkV2MigrationOptions } from '../../examples/migrate-from-sdk-v2';
import { migrationSuite, type MigrationOptions } from './migration-suite';

/** The example takes the metadata typed as the SDK types it; the suite fetched it as JSON. */
const typed = (options: MigrationOptions): SdkV2MigrationOptions => ({ ...options, oauthMetadata: options.oauthMetadata as unknown as OAuthMetadata });

describe('migrating from SDK v2 requireBearerAuth + mcpAuthMetadataRouter (examples/migrate-from-sdk-v2.ts)', () => {
  migrationSuite({
    before: (options) => before(typed(options)),
    after: (options) => after(typed(options)),
    invalidToken: () => new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid token'),
    serverError: () => new OAuthError(OAuthErrorCode.ServerError, 'the session store is down'),
    insufficientScope: () => new OAuthError(OAuthErrorCode.InsufficientScope, 'Insufficient scope'),
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
