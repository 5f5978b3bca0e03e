// Apollo Gateway for bench/graphql.sh: @apollo/gateway with a static supergraph (no
// IntrospectAndCompose, no uplink), served by @apollo/server's standalone HTTP server, the
// way Apollo documents a gateway deployment. Subgraph URLs come from the command line, since
// the fixture supergraph's are placeholders (http://<name>.invalid/graphql).
//
//   node gateway.mjs --supergraph FILE --port N [--fetcher stock|native] \
//       --subgraph movies=http://127.0.0.1:P/graphql ...
//
// Prints `listening http://127.0.0.1:N/` once it accepts requests; exits on SIGTERM/SIGINT.
// Run with NODE_ENV=production (the script does): no landing page, no introspection, no
// stack traces in errors. Usage reporting stays off (no APOLLO_KEY).
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

function parseArgs(argv) {
  const args = { port: 0, supergraph: null, subgraphs: {}, fetcher: 'stock' };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--port':
        args.port = Number(value);
        i++;
        break;
      case '--supergraph':
        args.supergraph = value;
        i++;
        break;
      case '--fetcher':
        if (value !== 'stock' && value !== 'native') throw new Error('--fetcher wants stock or native');
        args.fetcher = value;
        i++;
        break;
      case '--subgraph': {
        const at = value.indexOf('=');
        if (at < 1) throw new Error(`--subgraph wants NAME=URL, got ${value}`);
        args.subgraphs[value.slice(0, at)] = value.slice(at + 1);
        i++;
        break;
      }
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.supergraph) throw new Error('--supergraph FILE is required');
  return args;
}

const args = parseArgs(process.argv.slice(2));
const quiet = { debug() {}, info() {}, warn: console.warn, error: console.error };

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(args.supergraph, 'utf8'),
  buildService({ name, url }) {
    const target = args.subgraphs[name];
    if (!target) throw new Error(`no --subgraph ${name}=URL given (supergraph says ${url})`);
    // --fetcher native: Node's built-in fetch (undici) for subgraph calls instead of the
    // gateway's default make-fetch-happen (a common tuning); stock is what a plain gateway runs.
    return args.fetcher === 'native'
      ? new RemoteGraphQLDataSource({ url: target, fetcher: globalThis.fetch })
      : new RemoteGraphQLDataSource({ url: target });
  },
  logger: quiet,
});

const server = new ApolloServer({ gateway, logger: quiet });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: args.port },
});
console.log(`listening ${url}`);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    await server.stop();
    process.exit(0);
  });
}
