/**
 * `npm run start:v1`: the same example with `/mcp` served by the MCP SDK v1
 * (`McpServer` + `StreamableHTTPServerTransport`, one per request).
 */
import { runExample } from './run-example';

runExample('v1').catch((error) => {
  console.error(error);
  process.exit(1);
});
