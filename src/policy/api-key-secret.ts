import { hash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'sk-sy-';
/** 40 base62 characters: 238 bits, far beyond guessing, so one SHA-256 is a safe way to store it. */
const SECRET_LENGTH = 40;
/** Characters of the secret after `sk-sy-` that `prefix` shows. */
const SHOWN_LENGTH = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** What a key looks like; anything else is not looked up at all. */
const KEY_SHAPE = /^sk-sy-[0-9A-Za-z]{32,128}$/;

export function generateApiKeySecret(): string {
  let out = '';
  while (out.length < SECRET_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 x 62: bytes above it are dropped so every character is equally likely
      if (byte < 248 && out.length < SECRET_LENGTH) out += BASE62[byte % 62];
    }
  }
  return API_KEY_PREFIX + out;
}

export const isApiKeyShaped = (value: string) => KEY_SHAPE.test(value);

export const hashSecret = (secret: string) => hash('sha256', secret, 'hex');

export const shownPrefix = (secret: string) => secret.slice(0, API_KEY_PREFIX.length + SHOWN_LENGTH);
