import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { isLoopbackHost, normaliseOrigin } from './auth-settings.js';

const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: 'memory://', ...env });
const LONG = 'x'.repeat(32);

describe('auth settings', () => {
  it('knows which listen addresses reach this machine only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it('takes origins as browsers send them and nothing looser', () => {
    expect(normaliseOrigin('https://app.example.com')).toBe('https://app.example.com');
    expect(normaliseOrigin('https://App.Example.com/')).toBe('https://app.example.com');
    expect(normaliseOrigin('http://localhost:5173')).toBe('http://localhost:5173');
    for (const bad of [
      '*',
      'https://*.example.com',
      'https://a.example/path',
      'ftp://a.example',
      'a.example',
      'https://u:p@a.example',
    ]) {
      expect(normaliseOrigin(bad)).toBeUndefined();
    }
  });

  it('reads CORS_ORIGINS, the admin key and one JWT method from the environment', () => {
    const auth = config({
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      SWITCHYARD_ADMIN_KEY: LONG,
      AUTH_JWT_SECRET: LONG,
      AUTH_JWT_AUDIENCE: 'switchyard',
    }).auth;
    expect(auth.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(auth.adminKey).toBe(LONG);
    expect(auth.jwt).toMatchObject({ kind: 'secret', audience: 'switchyard', issuer: undefined });
    expect(config({}).auth).toEqual({ adminKey: undefined, jwt: undefined, corsOrigins: [] });
  });

  it('refuses weak secrets, wildcard origins and contradictory JWT settings in one line', () => {
    const refused = (env: Record<string, string>, variable: string) => {
      let error: unknown;
      try {
        config(env);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as Error).message).not.toContain('\n');
    };
    refused({ SWITCHYARD_ADMIN_KEY: 'short' }, 'SWITCHYARD_ADMIN_KEY');
    refused({ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET');
    refused({ CORS_ORIGINS: '*' }, 'CORS_ORIGINS');
    refused({ AUTH_JWT_SECRET: LONG, AUTH_JWKS_URL: 'https://idp.example/jwks' }, 'AUTH_JWT_SECRET');
    refused({ AUTH_JWT_AUDIENCE: 'switchyard' }, 'AUTH_JWT_AUDIENCE');
    refused({ AUTH_JWKS_URL: 'file:///etc/passwd' }, 'AUTH_JWKS_URL');
  });
});
