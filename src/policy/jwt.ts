import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { JwtSettings } from '../config/auth-settings.js';
import { AppError } from '../errors.js';
import { type ApiScope, DEFAULT_SCOPES, toScopes } from './scopes.js';

/** What a verified token says about its holder. */
export interface JwtIdentity {
  /** `issuer|sub`: one user per subject of one issuer. */
  subject: string;
  /** From `name`, else `email`, else `sub`. */
  displayName: string;
  scopes: ApiScope[];
  expiresAt: Date;
}

export type JwtVerifier = (token: string) => Promise<JwtIdentity>;

/** Bigger than any identity provider's token; a bigger header is refused before parsing. */
export const MAX_JWT_LENGTH = 8192;
const MAX_CLAIM_LENGTH = 255;
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function createJwtVerifier(settings: JwtSettings): JwtVerifier {
  const key: Uint8Array | JWTVerifyGetKey =
    settings.kind === 'secret'
      ? settings.secret
      : createRemoteJWKSet(settings.jwksUrl, { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  const options = {
    algorithms: settings.kind === 'secret' ? ['HS256'] : ASYMMETRIC,
    issuer: settings.issuer,
    audience: settings.audience,
    requiredClaims: ['sub', 'exp'],
    clockTolerance: 5,
  };
  return async (token) => {
    if (token.length > MAX_JWT_LENGTH) throw unauthenticated(`a JWT is at most ${MAX_JWT_LENGTH} characters`);
    let payload: JWTPayload;
    try {
      // jose takes a key or a key-getter; both overloads accept the same options
      ({ payload } = await jwtVerify(token, key as Uint8Array, options));
    } catch (error) {
      throw unauthenticated(describe(error));
    }
    const sub = String(payload.sub);
    const iss = String(payload.iss ?? '');
    // Identity providers' ids are far shorter; longer ones would not fit the users' index.
    if (sub.length > MAX_CLAIM_LENGTH || iss.length > MAX_CLAIM_LENGTH) {
      throw unauthenticated(`the JWT's "sub" and "iss" are at most ${MAX_CLAIM_LENGTH} characters each`);
    }
    const name = typeof payload.name === 'string' ? payload.name : undefined;
    const email = typeof payload.email === 'string' ? payload.email : undefined;
    return {
      subject: `${iss}|${sub}`,
      displayName: (name ?? email ?? sub).slice(0, 100),
      scopes: claimedScopes(payload),
      expiresAt: new Date((payload.exp ?? 0) * 1000),
    };
  };
}

/** `scope` (space-separated, OAuth style) or `scopes` (array or string); neither: the defaults. */
function claimedScopes(payload: JWTPayload): ApiScope[] {
  const claim = payload.scope ?? payload.scopes;
  if (claim === undefined) return [...DEFAULT_SCOPES];
  const values = Array.isArray(claim) ? claim.map(String) : String(claim).split(/[\s,]+/);
  return toScopes(values);
}

/** Says what is wrong with the token, never echoing its content. */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the JWT has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.reason === 'missing'
      ? `the JWT has no "${error.claim}" claim, which is required`
      : `the JWT's "${error.claim}" claim is not accepted`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the JWT signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return "the JWT's algorithm is not accepted";
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the identity provider matches the JWT';
  if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JWKS_INVALID')) {
    return "the identity provider's keys could not be fetched";
  }
  return 'the JWT is not valid';
}

export const unauthenticated = (message: string) => new AppError('UNAUTHENTICATED', message);
