import type { FastifyReply, FastifyRequest } from 'fastify';
import { deviceCookieAfterLogin, readDeviceCookie, type Device } from '../lib/device-cookie.js';

/** The device cookie on the wire: `__Host-` on https (Secure, Path=/, no Domain), a year long. */
const YEAR = 365 * 86400;
const name = (secure: boolean) => (secure ? '__Host-gatehouse_device' : 'gatehouse_device');

export function deviceOf(request: FastifyRequest, secrets: readonly string[], secure: boolean): Device | undefined {
  return readDeviceCookie(secrets, request.cookies[name(secure)]);
}

export function rememberDevice(reply: FastifyReply, secrets: readonly string[], secure: boolean, device: Device | undefined, email: string): void {
  reply.setCookie(name(secure), deviceCookieAfterLogin(secrets, device, email), { path: '/', maxAge: YEAR, httpOnly: true, sameSite: 'lax', secure });
}
