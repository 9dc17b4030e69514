/**
 * `mnesis serve`: the explorer on http://127.0.0.1:4280 by default. It listens on this machine
 * only unless `--allow-remote` is given, and serves nothing that writes.
 *
 * @internal
 */
import { Command, Options } from "@effect/cli"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Console, Effect } from "effect"
import { createServer } from "node:http"
import { describeLocation, withStore } from "../Database.js"
import { RemoteBindRefused, ServeFailed } from "../errors.js"
import { loadConfig } from "../inspect/settings.js"
import * as Opt from "../options.js"
import * as Server from "../web/Server.js"

export const DEFAULT_PORT = 4280

export const serve = Command.make("serve", {
  db: Opt.db,
  config: Opt.config,
  host: Options.text("host").pipe(
    Options.withDescription("The address to listen on (default 127.0.0.1: this machine only)"),
    Options.withDefault("127.0.0.1")
  ),
  port: Options.integer("port").pipe(
    Options.withDescription(`The port (default ${DEFAULT_PORT}; 0 picks a free one)`),
    Options.withDefault(DEFAULT_PORT)
  ),
  allowRemote: Options.boolean("allow-remote").pipe(
    Options.withDescription("Allow a --host other machines can reach (the explorer has no authentication)")
  )
}, (args) =>
  Effect.gen(function*() {
    if (!args.allowRemote && !Server.isLoopback(args.host)) {
      return yield* new RemoteBindRefused({ host: args.host })
    }
    const config = yield* loadConfig(args.config)
    yield* withStore(args.db, (store, location) =>
      Effect.gen(function*() {
        const app = Server.make({
          store,
          config,
          database: describeLocation(location),
          allowRemote: args.allowRemote
        })
        yield* HttpServer.serveEffect(app)
        yield* HttpServer.addressFormattedWith((address) =>
          Console.log(`mnesis explorer on ${address}/ (read-only; Ctrl-C stops it)`)
        )
        return yield* Effect.never
      }).pipe(
        Effect.scoped,
        Effect.provide(NodeHttpServer.layer(() => createServer(), { host: args.host, port: args.port })),
        Effect.catchTag("ServeError", (error) =>
          Effect.fail(
            new ServeFailed({
              address: `${args.host}:${args.port}`,
              reason: error.cause instanceof Error ? error.cause.message : String(error.cause)
            })
          ))
      ))
  })).pipe(Command.withDescription("A local, read-only web explorer of the database's sessions"))
