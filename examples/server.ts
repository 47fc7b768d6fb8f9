/**
 * `npm start`: the example MCP server on the MCP SDK v2 (`createMcpExpressApp`, so DNS-rebinding
 * protection is on; `createMcpHandler`, so both protocol eras are served) behind multiAuth, on an
 * embedded default that needs no outside service (see embedded-default.ts). Prints a working
 * token per source and a curl for each answer of the HTTP table.
 */
import { runExample } from './run-example';

runExample('v2').catch((error) => {
  console.error(error);
  process.exit(1);
});
