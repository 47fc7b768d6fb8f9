// loggableUrl: a log line's URL never holds a token the client put in the query string, in any
// spelling the bearer check refuses as one (the two share one rule).
import type { IncomingMessage } from 'node:http';
import express from 'express';
import request from 'supertest';
import fc from 'fast-check';
import { loggableUrl } from '../../lib/http/loggable-url';
import { extractBearerToken } from '../../lib/http/token-extraction';
import { InvalidRequestError } from '../../lib/core/errors';
import { multiAuth } from '../../lib/chain/multi-auth';
import { oneTokenVerifier } from '../support/app';

const TOKEN = 'ci_secret_value_0123456789';
const pieces = (token: string) => Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
const at = (url: string) => ({ url, headers: {} }) as unknown as IncomingMessage;

/** Whether the bearer check refuses the URL for a token in its query string. */
function refusedAsQueryToken(url: string): boolean {
  try {
    extractBearerToken(at(url));
    return false;
  } catch (error) {
    return error instanceof InvalidRequestError;
  }
}

describe('loggableUrl', () => {
  it.each([
    ['/whoami?access_token=TOKEN', '/whoami?access_token=[redacted]'],
    ['/whoami?page=2&access_token=TOKEN&q=a%20b', '/whoami?page=2&access_token=[redacted]&q=a%20b'],
    ['/whoami?access%5Ftoken=TOKEN', '/whoami?access%5Ftoken=[redacted]'],
    ['/whoami?%61ccess_token=TOKEN', '/whoami?%61ccess_token=[redacted]'],
    ['/whoami?access_token[]=TOKEN', '/whoami?access_token[]=[redacted]'],
    ['/whoami?access_token[a][b]=TOKEN', '/whoami?access_token[a][b]=[redacted]'],
    ['/whoami?access_token%5Ba%5D%5B%5D=TOKEN', '/whoami?access_token%5Ba%5D%5B%5D=[redacted]'],
  ])('redacts %s', (url, expected) => {
    expect(loggableUrl(at(url.replace('TOKEN', TOKEN)))).toBe(expected);
  });

  it("keeps every other URL as the client sent it, Express's originalUrl first", () => {
    expect(loggableUrl(at('/whoami?q=%ZZ&page=2&token=x'))).toBe('/whoami?q=%ZZ&page=2&token=x');
    expect(loggableUrl({ url: '/whoami', originalUrl: '/api/whoami?x=1' })).toBe('/api/whoami?x=1');
    expect(loggableUrl(at('/whoami'))).toBe('/whoami');
  });

  it('leaves no 8-character piece of the value in any URL the bearer check refuses as a query token (generated spellings)', () => {
    const spelling = fc.constantFrom('access_token', 'access%5Ftoken', '%61ccess_token', 'access_token[]', 'access_token[x][y]', 'access_token%5B0%5D', 'access_token+', 'Access_token', 'access_tokens');
    const other = fc.stringMatching(/^[a-z]{1,6}=[a-z0-9%]{0,6}$/);
    fc.assert(
      fc.property(fc.array(other, { maxLength: 3 }), spelling, fc.array(other, { maxLength: 3 }), (before, name, after) => {
        const url = `/mcp?${[...before, `${name}=${TOKEN}`, ...after].join('&')}`;
        if (!refusedAsQueryToken(url)) return;
        const logged = loggableUrl(at(url));
        for (const piece of pieces(TOKEN)) expect(logged).not.toContain(piece);
      }),
    );
  });

  it("is what an onDecision logger writes for a request refused with 400 for a query token, over HTTP", async () => {
    const logged: string[] = [];
    const auth = multiAuth({
      verifiers: [oneTokenVerifier('ci', TOKEN, { clientId: 'ci', scopes: [] })],
      onDecision: (decision, req) => logged.push(`${decision.status} ${req ? loggableUrl(req) : ''}`),
    });
    const app = express().use('/api', auth, (_req, res) => res.send('ok'));
    await request(app).get(`/api/whoami?access_token[a][b]=${TOKEN}`).expect(400);
    await request(app).get(`/api/whoami?access%5Ftoken=${TOKEN}`).expect(400);
    expect(logged).toEqual(['400 /api/whoami?access_token[a][b]=[redacted]', '400 /api/whoami?access%5Ftoken=[redacted]']);
  });
});
