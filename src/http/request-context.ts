import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../accounts/account-deps.js';

/** Where a request came from, for the audit log: the client IP as TRUST_PROXY allows, and the user agent. */
export const requestContext = (request: FastifyRequest): RequestContext => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
