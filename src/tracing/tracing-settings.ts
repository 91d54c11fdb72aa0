import { ConfigError } from '../config.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** What the standard `OTEL_*` variables ask of tracing; undefined when no OTLP endpoint is set (tracing off). */
export interface TracingSettings {
  /** The traces URL, `…/v1/traces`. */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  serviceName: string;
  /** `OTEL_RESOURCE_ATTRIBUTES`, `key=value,…`. */
  resourceAttributes: Record<string, string>;
  sampler: SamplerName;
  /** The ratio of the `*traceidratio` samplers, 0 to 1. */
  ratio: number;
  /** `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: prompts and replies on spans, redacted. */
  captureContent: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];
const SAMPLERS: readonly string[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
/** Header and resource lists are operator input: bounded like every other input. */
const MAX_LIST_CHARS = 8_192;

const value = (env: Env, name: string) => {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
};

/**
 * Reads the OpenTelemetry SDK's standard variables (the subset this gateway honours). A value it
 * cannot honour stops start-up like any other bad setting, rather than exporting nowhere quietly.
 *
 * @example tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.url // 'http://collector:4318/v1/traces'
 */
export function tracingSettings(env: Env): TracingSettings | undefined {
  const tracesUrl = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!tracesUrl && !base) return undefined;
  const url = tracesUrl ?? `${(base as string).replace(/\/+$/, '')}/v1/traces`;
  checkUrl(tracesUrl ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT', url);
  const protocolName = value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = value(env, protocolName) ?? 'http/protobuf';
  if (!PROTOCOLS.includes(protocol)) throw new ConfigError(protocolName, protocol, 'http/protobuf or http/json');
  const sampler = value(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on';
  if (!SAMPLERS.includes(sampler)) throw new ConfigError('OTEL_TRACES_SAMPLER', sampler, SAMPLERS.join(', '));
  const ratioText = value(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = ratioText === undefined ? 1 : Number(ratioText);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', ratioText, 'a number from 0 to 1');
  }
  return {
    url,
    protocol: protocol as OtlpProtocol,
    headers: {
      ...keyValues(env, 'OTEL_EXPORTER_OTLP_HEADERS'),
      ...keyValues(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    },
    serviceName: value(env, 'OTEL_SERVICE_NAME') ?? 'switchyard',
    resourceAttributes: keyValues(env, 'OTEL_RESOURCE_ATTRIBUTES'),
    sampler: sampler as SamplerName,
    ratio,
    captureContent: value(env, 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT')?.toLowerCase() === 'true',
  };
}

function checkUrl(variable: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(variable, url, 'an http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(variable, url, 'an http:// or https:// URL');
  }
}

/** `key=value,key2=value2` with percent-encoded values (the SDK's list format). */
function keyValues(env: Env, name: string): Record<string, string> {
  const raw = value(env, name);
  if (!raw) return {};
  if (raw.length > MAX_LIST_CHARS)
    throw new ConfigError(name, `${raw.slice(0, 40)}…`, `at most ${MAX_LIST_CHARS} characters`);
  const result: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ConfigError(name, raw, 'a list of key=value pairs separated by commas');
    try {
      result[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError(name, raw, 'percent-encoded keys and values');
    }
  }
  return result;
}
