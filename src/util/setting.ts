// A setting as meshsight reads it: an Effect `Config` over one or more variable names (meshsight's first, then
// SkyWalking's aliases), decoded with Schema. The first name that is set decides; an invalid value fails with one
// line — a ConfigError whose cause, a ConfigProvider.SourceError, carries it — and never falls back to a later
// name or the default. Each stage declares the settings it reads beside its `layerConfig`; src/config.ts lists
// them all for start-up.
import { Config, ConfigProvider, Option, Schema, SchemaGetter } from "effect"

export interface Setting<A> {
  /** The meshsight name first, then accepted aliases. */
  readonly names: ReadonlyArray<string>
  readonly schema: Schema.Codec<A, string>
  /** What a valid value looks like, for the one-line refusal. */
  readonly expected: string
  readonly default: A
  /** A further check after decoding: the problem, or undefined when the value is fine. */
  readonly validate?: (value: A) => string | undefined
}

export const setting = <A>(s: Setting<A>) => s

/** Start-up stops with this: one line naming the variable and what is wrong with its value. */
export const invalid = (variable: string, value: string, expected: string): Config.Config<never> =>
  Config.fail(new ConfigProvider.SourceError({ message: `invalid ${variable}=${JSON.stringify(value)}: expected ${expected}` }))

/** A value set under `name`, decoded and checked. */
const decodeAs = <A>(s: Setting<A>, name: string, raw: string): Config.Config<A> => {
  const decoded = Schema.decodeUnknownOption(s.schema)(raw)
  if (Option.isNone(decoded)) return invalid(name, raw, s.expected)
  const problem = s.validate?.(decoded.value)
  return problem === undefined ? Config.succeed(decoded.value) : invalid(name, raw, `${s.expected} (${problem})`)
}

/** The setting as a Config: the first of its names that is set wins; none set → the default. */
export const settingConfig = <A>(s: Setting<A>): Config.Config<A> =>
  s.names.reduceRight<Config.Config<A>>(
    (later, name) =>
      Config.option(Config.String(name)).pipe(
        Config.flatMap(Option.match({ onNone: () => later, onSome: (raw) => decodeAs(s, name, raw) }))
      ),
    Config.succeed(s.default)
  )

export type SettingValues<T> = { readonly [K in keyof T]: T[K] extends Setting<infer A> ? A : never }

/** A group of settings read together with `Config.all`. */
export const settingsConfig = <T extends Readonly<Record<string, Setting<any>>>>(settings: T): Config.Config<SettingValues<T>> =>
  Config.all(Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, settingConfig(s)]))) as Config.Config<SettingValues<T>>

export const Int = (minimum: number, maximum: number) =>
  Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))
export const Trimmed = Schema.Trim
export const NonEmpty = Schema.Trim.check(Schema.isMinLength(1))

/** `true` / `false`, any case (SkyWalking's boolean settings). */
export const Bool = Schema.Trim.check(Schema.isPattern(/^(true|false)$/i)).pipe(
  Schema.decodeTo(Schema.Boolean, {
    decode: SchemaGetter.transform((s: string) => s.toLowerCase() === "true"),
    encode: SchemaGetter.transform((b: boolean) => String(b))
  })
)

/** A file path; empty (SkyWalking's default for its TLS paths) means unset. */
export const filePath = (names: ReadonlyArray<string>) => setting({ names, schema: Trimmed, expected: "a file path", default: "" })
