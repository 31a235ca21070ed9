// TLS for both ports from PEM files that are re-read when they change (src/security/watched-files.ts). A new
// certificate applies to new connections; connections already open (Envoy's long-lived ALS streams) keep theirs.
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { createSecureContext, type SecureContextOptions } from "node:tls"
import { filePath, settingConfig, settingsConfig } from "../util/setting.ts"
import { fileReloadIntervalMs, watchFiles, type WatchedFiles } from "./watched-files.ts"

// meshsight serves TLS when a certificate and key are set (SkyWalking's SW_*_SSL_ENABLED is not needed). Its
// receiver-sharing-server's trusted-CAs path turns on client-certificate checks, as it does in SkyWalking.
export const grpcTlsCertFile = filePath([
  "MESHSIGHT_GRPC_TLS_CERT_FILE",
  "SW_RECEIVER_GRPC_SSL_CERT_CHAIN_PATH",
  "SW_CORE_GRPC_SSL_CERT_CHAIN_PATH"
])
export const grpcTlsKeyFile = filePath(["MESHSIGHT_GRPC_TLS_KEY_FILE", "SW_RECEIVER_GRPC_SSL_KEY_PATH", "SW_CORE_GRPC_SSL_KEY_PATH"])
export const grpcTlsClientCaFile = filePath(["MESHSIGHT_GRPC_TLS_CLIENT_CA_FILE", "SW_RECEIVER_GRPC_SSL_TRUSTED_CAS_PATH"])
export const httpTlsCertFile = filePath(["MESHSIGHT_HTTP_TLS_CERT_FILE"])
export const httpTlsKeyFile = filePath(["MESHSIGHT_HTTP_TLS_KEY_FILE"])

/** The certificate and key are set together; a client CA needs the gRPC port to serve TLS (checked at start-up). */
export const TLS_PAIRS = [
  [grpcTlsCertFile, grpcTlsKeyFile, "the gRPC TLS certificate and key are set together"],
  [grpcTlsKeyFile, grpcTlsCertFile, "the gRPC TLS certificate and key are set together"],
  [grpcTlsClientCaFile, grpcTlsCertFile, "client certificates need the gRPC port to serve TLS (MESHSIGHT_GRPC_TLS_CERT_FILE)"],
  [httpTlsCertFile, httpTlsKeyFile, "the HTTP TLS certificate and key are set together"],
  [httpTlsKeyFile, httpTlsCertFile, "the HTTP TLS certificate and key are set together"]
] as const

export interface PemFiles {
  readonly cert: Buffer
  readonly key: Buffer
  /** CA certificates that client certificates must chain to; absent: no client certificates asked for. */
  readonly ca?: Buffer
}

/** The files as TLS options; throws when they do not make a usable context (e.g. the key is not the cert's). */
const parsePem = (contents: ReadonlyArray<Buffer>): PemFiles => {
  const [cert, key, ca] = contents as [Buffer, Buffer, Buffer?]
  const files = ca === undefined ? { cert, key } : { cert, key, ca }
  createSecureContext(files)
  return files
}

const watchPem = (cert: [string, string], key: [string, string], ca?: [string, string]) =>
  Effect.flatMap(settingConfig(fileReloadIntervalMs), (intervalMs) =>
    watchFiles(
      [cert, key, ...(ca ? [ca] : [])].map(([variable, path]) => ({ variable, path })),
      intervalMs,
      parsePem
    )
  )

/**
 * grpc-js's certificate-provider interface over watched files: grpc-js calls setSecureContext on its HTTP/2 server
 * with each update. The current value is handed to a new listener on the next tick, after grpc-js has registered
 * the server's watcher (grpc-js adds its own watcher after subscribing to the provider).
 */
const certificateProvider = (files: WatchedFiles<PemFiles>): grpc.experimental.CertificateProvider => {
  const ca = new Set<grpc.experimental.CaCertificateUpdateListener>()
  const identity = new Set<grpc.experimental.IdentityCertificateUpdateListener>()
  const tellCa = (l: grpc.experimental.CaCertificateUpdateListener, v: PemFiles) => l(v.ca ? { caCertificate: v.ca } : null)
  const tellIdentity = (l: grpc.experimental.IdentityCertificateUpdateListener, v: PemFiles) =>
    l({ certificate: v.cert, privateKey: v.key })
  files.onChange((v) => {
    ca.forEach((l) => tellCa(l, v))
    identity.forEach((l) => tellIdentity(l, v))
  })
  return {
    addCaCertificateListener: (l) => {
      ca.add(l)
      queueMicrotask(() => ca.has(l) && tellCa(l, files.current()))
    },
    removeCaCertificateListener: (l) => void ca.delete(l),
    addIdentityCertificateListener: (l) => {
      identity.add(l)
      queueMicrotask(() => identity.has(l) && tellIdentity(l, files.current()))
    },
    removeIdentityCertificateListener: (l) => void identity.delete(l)
  }
}

/**
 * The gRPC port's credentials: plaintext when no certificate is configured; TLS otherwise; with a client CA, a
 * client certificate signed by it is required (mTLS). One provider serves every server that binds with it.
 */
export const grpcServerCredentials = Effect.gen(function* () {
  const config = yield* settingsConfig({ grpcTlsCertFile, grpcTlsKeyFile, grpcTlsClientCaFile })
  if (config.grpcTlsCertFile === "") return () => grpc.ServerCredentials.createInsecure()
  const files = yield* watchPem(
    ["MESHSIGHT_GRPC_TLS_CERT_FILE", config.grpcTlsCertFile],
    ["MESHSIGHT_GRPC_TLS_KEY_FILE", config.grpcTlsKeyFile],
    config.grpcTlsClientCaFile === "" ? undefined : ["MESHSIGHT_GRPC_TLS_CLIENT_CA_FILE", config.grpcTlsClientCaFile]
  )
  const provider = certificateProvider(files)
  const mutual = config.grpcTlsClientCaFile !== ""
  // grpc-js 1.14 hands its first argument to the identity slot (its parameter names say otherwise): passing the
  // same provider for both keeps that detail from mattering.
  return () => grpc.experimental.createCertificateProviderServerCredentials(provider, mutual ? provider : null, mutual)
})

/** The HTTP port's certificate and key, kept current; undefined for plain HTTP. */
export const httpTlsFiles = Effect.gen(function* () {
  const config = yield* settingsConfig({ httpTlsCertFile, httpTlsKeyFile })
  if (config.httpTlsCertFile === "") return undefined
  return yield* watchPem(["MESHSIGHT_HTTP_TLS_CERT_FILE", config.httpTlsCertFile], ["MESHSIGHT_HTTP_TLS_KEY_FILE", config.httpTlsKeyFile])
})

export const secureContextOptions = (files: PemFiles): SecureContextOptions => ({ cert: files.cert, key: files.key })
