import type { FastifyReply, FastifyRequest } from 'fastify';
import { deviceAfterLogin, parseDevice, type Device } from '../lib/device-cookie.js';

/**
 * The device cookie on the wire: `__Host-` on https (Secure, Path=/, no Domain), a year long, signed
 * by @fastify/cookie with SECRETS (registered with the secrets in http/server.ts).
 */
const YEAR = 365 * 86400;
const MAX_COOKIE = 1000;
const name = (secure: boolean) => (secure ? '__Host-gatehouse_device' : 'gatehouse_device');

export function deviceOf(request: FastifyRequest, secure: boolean): Device | undefined {
  const raw = request.cookies[name(secure)];
  if (!raw || raw.length > MAX_COOKIE) return undefined;
  const opened = request.unsignCookie(raw);
  return opened.valid && opened.value !== null ? parseDevice(opened.value) : undefined;
}

export function rememberDevice(reply: FastifyReply, secure: boolean, device: Device | undefined, email: string): void {
  reply.setCookie(name(secure), deviceAfterLogin(device, email), { signed: true, path: '/', maxAge: YEAR, httpOnly: true, sameSite: 'lax', secure });
}
