// Hive Gateway for bench/graphql_federation.sh, configured for production: the script runs
//   NODE_ENV=production node node_modules/@graphql-hive/gateway/dist/bin.js \
//       supergraph SUPERGRAPH --jit -c hive-gateway.config.mjs --host 127.0.0.1 --port N
// with a static supergraph file (no registry, no polling: a file is read once), one process
// (--fork 1, the default; the gateway is pinned to one core), the GraphQL JIT on (--jit, as
// The Guild's own gateways benchmark runs it), only errors logged, no GraphiQL/landing page,
// no usage reporting (no Hive token), no OpenTelemetry.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  logging: 'error',
  graphiql: false,
  landingPage: false,
});
